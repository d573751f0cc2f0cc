import Logging

/// Applications on a node (OTP's `application` module).
extension Node {
    var applicationController: ApplicationController {
        service(ApplicationController.self) {
            let controller = ApplicationController()
            addStopHook { [weak self] in
                guard let self else { return }
                await controller.stopAll(node: self)
            }
            return controller
        }
    }

    /// Starts a node and its applications, in order (each after its
    /// dependencies). If one fails to start, the node is stopped and the
    /// error rethrown.
    public static func start(name: String = "nonode@nohost", cookie: String = "", schedulers: Int? = nil,
                             logger: Logger? = nil, applications: [Application],
                             type: Application.RestartType = .permanent) async throws -> Node {
        let node = Node(name: name, cookie: cookie, schedulers: schedulers, logger: logger)
        do {
            for app in applications where !node.applicationController.isLoaded(app.name) {
                try node.loadApplication(app)
            }
            for app in applications where !node.whichApplications().contains(where: { $0.name == app.name }) {
                try await node.startApplication(app.name, type: type)
            }
        } catch {
            await node.stop()
            throw error
        }
        return node
    }

    /// Loads a specification (`application:load/1`).
    public func loadApplication(_ spec: Application) throws(ApplicationError) {
        try applicationController.load(spec)
    }

    /// Unloads a stopped application (`application:unload/1`).
    public func unloadApplication(_ name: Atom) throws(ApplicationError) {
        try applicationController.unload(name)
    }

    /// The loaded applications, by name.
    public func loadedApplications() -> [Application] {
        applicationController.loaded
    }

    /// Starts a loaded application, after starting the dependencies that
    /// are not running yet (as `application:ensure_all_started/2`), each with
    /// `type`. Returns once its top supervisor has started.
    public func startApplication(_ name: Atom, type: Application.RestartType = .temporary) async throws(ApplicationError) {
        try await applicationController.start(name, type: type, node: self)
    }

    /// Loads `spec` if no application of that name is loaded, then starts it.
    public func startApplication(_ spec: Application, type: Application.RestartType = .temporary) async throws(ApplicationError) {
        if !applicationController.isLoaded(spec.name) { try loadApplication(spec) }
        try await startApplication(spec.name, type: type)
    }

    /// Stops a running application: its top supervisor stops its tree, then
    /// the `stop` callback runs. This does not count as the application
    /// ending, whatever its type: the node goes on.
    public func stopApplication(_ name: Atom) async throws(ApplicationError) {
        try await applicationController.stop(name, node: self)
    }

    /// The running applications, the most recently started first
    /// (`application:which_applications/0`).
    public func whichApplications() -> [RunningApplication] {
        applicationController.running
    }

    /// `application:get_env/2`: the value set for `key`, or the specification's default.
    public func applicationEnv(_ app: Atom, _ key: Atom) -> Term? {
        applicationController.env(app, key)
    }

    /// `application:get_all_env/1`.
    public func applicationEnv(_ app: Atom) -> [Atom: Term] {
        applicationController.allEnv(app)
    }

    /// `application:set_env/3` (nil unsets, as `unset_env/2`); the
    /// application must be loaded.
    public func setApplicationEnv(_ app: Atom, _ key: Atom, _ value: Term?) throws(ApplicationError) {
        try applicationController.setEnv(app, key, value)
    }
}
