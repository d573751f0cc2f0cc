import Logging

/// Crash reports shaped like the ones Erlang's logger prints, with the
/// process's `pid` and name as metadata. Messages appear by their printed
/// form, cut at 2,000 characters.
enum CrashReport {
    static let limit = 2_000

    /// A plain process ended by a thrown error (proc_lib's crash report).
    static func process(_ core: ProcessCore, reason: ExitReason, error: any Error) {
        let name = core.node.registry.name(of: core.pid)
        let text = """
            crasher:
                initial call: \(core.behavior)
                pid: \(core.pid)
                registered_name: \(name.map { $0.description } ?? "[]")
                exception exit: \(cut(reason.description))
                message_queue_len: \(core.queue.count)
                last message: \(core.lastMessage.map { cut($0.term.description) } ?? "none")
                links: \(core.links.map(\.description).sorted().joined(separator: ","))
            """
        core.logger.error("\(text)", metadata: ["report": "crash_report", "reason": "\(cut(reason.description))"])
    }

    /// A `GenServer` stopped abnormally (gen_server's "terminating" report).
    static func genServer(_ process: ProcessContext, server: String, reason: ExitReason,
                          lastMessage: Term, state: String) {
        let core = process.core
        let who = core.node.registry.name(of: core.pid).map { $0.description } ?? core.pid.description
        let text = """
            ** Generic server \(who) terminating
            ** Last message in was \(cut(lastMessage.description))
            ** When Server state == \(cut(state))
            ** Reason for termination ==
            ** \(cut(reason.description))
            """
        core.logger.error("\(text)", metadata: ["report": "gen_server_terminate", "server": "\(server)"])
    }

    /// A `GenServer`'s `initialize` threw.
    static func initFailed(_ process: ProcessContext, server: String, reason: ExitReason) {
        let core = process.core
        let text = """
            crasher:
                initial call: \(server):init/1
                pid: \(core.pid)
                exception exit: \(cut(reason.description))
            """
        core.logger.error("\(text)", metadata: ["report": "crash_report", "server": "\(server)"])
    }

    static func cut(_ text: String) -> String {
        text.count > limit ? String(text.prefix(limit)) + "…" : text
    }
}
