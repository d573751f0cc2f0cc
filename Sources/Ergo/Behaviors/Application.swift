/// An application's specification (OTP's `.app` resource plus its callback
/// module): a name, what it is, what it needs, and how it starts its top
/// supervisor.
///
/// ```swift
/// let shop = Application(name: "shop", version: "1.0.0", dependencies: ["payments"],
///                        environment: ["port": .int(8080)]) { process in
///     try await process.startSupervisor(Supervisor(children: [...]))
/// }
/// try await node.startApplication(shop, type: .permanent)
/// ```
public struct Application: Sendable {
    /// What ending an application does to its node (OTP's start types).
    public enum RestartType: Sendable, Hashable, CustomStringConvertible {
        /// If it ends, for any reason, the node stops every application and stops.
        case permanent
        /// If it ends with any reason but `normal`, the node stops; after
        /// `normal` only a report is logged.
        case transient
        /// If it ends, that is logged; nothing else happens.
        case temporary

        public var description: String {
            switch self {
            case .permanent: return "permanent"
            case .transient: return "transient"
            case .temporary: return "temporary"
            }
        }
    }

    public var name: Atom
    public var description: String
    public var version: String
    /// Defaults for `node.applicationEnv(name, key)`; `setApplicationEnv` overrides them.
    public var environment: [Atom: Term]
    /// Applications that must run first; `startApplication` starts them.
    public var dependencies: [Atom]
    /// Starts the top supervisor **linked** to the process it is given (the
    /// application master) and returns its pid, as OTP's `Module:start/2`.
    /// Throwing (or `StartError`) fails the application's start.
    public var start: @Sendable (ProcessContext) async throws -> PID
    /// Runs after the top supervisor has stopped (OTP's `Module:stop/1`).
    public var stop: (@Sendable () async -> Void)?

    public init(name: Atom, description: String = "", version: String = "", dependencies: [Atom] = [],
                environment: [Atom: Term] = [:], stop: (@Sendable () async -> Void)? = nil,
                start: @escaping @Sendable (ProcessContext) async throws -> PID) {
        self.name = name
        self.description = description
        self.version = version
        self.environment = environment
        self.dependencies = dependencies
        self.start = start
        self.stop = stop
    }

    /// An application whose top supervisor is `supervisor`.
    public init(name: Atom, description: String = "", version: String = "", dependencies: [Atom] = [],
                environment: [Atom: Term] = [:], supervisor: Supervisor, options: SpawnOptions = SpawnOptions()) {
        self.init(name: name, description: description, version: version, dependencies: dependencies,
                  environment: environment) { try await $0.startSupervisor(supervisor, options: options) }
    }
}

/// One running application, as in `application:which_applications()`.
public struct RunningApplication: Sendable, Hashable {
    public var name: Atom
    public var description: String
    public var version: String
    public var type: Application.RestartType
}

/// Why an application call failed (OTP's `{error, Reason}`).
public enum ApplicationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Not loaded: `load` it first (or start it by its specification).
    case notLoaded(Atom)
    case alreadyLoaded(Atom)
    case alreadyStarted(Atom)
    case notStarted(Atom)
    /// `unload` of a running application.
    case running(Atom)
    /// `application` depends on `dependency`, which is not loaded.
    case missingDependency(application: Atom, dependency: Atom)
    /// Dependencies that form a cycle, in the order found.
    case circularDependency([Atom])
    /// The start callback failed; its reason.
    case startFailed(Atom, ExitReason)
    /// The node is stopping.
    case nodeStopping

    public var description: String {
        switch self {
        case .notLoaded(let a): return "application \(a) is not loaded"
        case .alreadyLoaded(let a): return "application \(a) is already loaded"
        case .alreadyStarted(let a): return "application \(a) is already started"
        case .notStarted(let a): return "application \(a) is not started"
        case .running(let a): return "application \(a) is running"
        case .missingDependency(let a, let d): return "application \(a) needs \(d), which is not loaded"
        case .circularDependency(let cycle): return "circular dependency: \(cycle.map(\.name).joined(separator: " -> "))"
        case .startFailed(let a, let r): return "application \(a) failed to start: \(r)"
        case .nodeStopping: return "the node is stopping"
        }
    }
}
