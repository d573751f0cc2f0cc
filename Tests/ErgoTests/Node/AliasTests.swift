import Testing
@testable import Ergo

@Suite(.serialized) struct AliasTests {
    @Test func messageToAliasArrives() async throws {
        try await inProcess { process throws in
            let alias = process.makeAlias()
            try process.spawn { sender in try sender.send(to: .alias(alias), .atom("via_alias")) }
            try await process.expect(.atom("via_alias"))
            // From outside any process too.
            try process.node.send(to: .alias(alias), .atom("from_node"))
            try await process.expect(.atom("from_node"))
        }
    }

    /// After `deactivate`, a message to the alias is dropped: the sentinel the
    /// same sender sends right after it is the next thing that arrives.
    @Test func deactivatedAliasDropsMessages() async throws {
        try await inProcess { process throws in
            let me = process.pid
            let alias = process.makeAlias()
            #expect(process.deactivate(alias))
            #expect(!process.deactivate(alias))
            try process.spawn { sender in
                try sender.send(to: .alias(alias), .atom("dropped"))
                sender.send(to: me, .atom("sentinel"))
            }
            #expect(try await process.next() == .atom("sentinel"))
            #expect(process.messageQueueLength == 0)
        }
    }

    /// Deactivating one alias leaves the others working.
    @Test func aliasesAreIndependent() async throws {
        try await inProcess { process throws in
            let a = process.makeAlias()
            let b = process.makeAlias()
            #expect(a != b)
            process.deactivate(a)
            try process.send(to: .alias(a), .atom("to_a"))
            try process.send(to: .alias(b), .atom("to_b"))
            process.send(to: process.pid, .atom("sentinel"))
            #expect(try await process.next() == .atom("to_b"))
            #expect(try await process.next() == .atom("sentinel"))
            #expect(process.messageQueueLength == 0)
        }
    }

    /// A message to the alias of a dead process is dropped without an error.
    @Test func aliasOfDeadProcess() async throws {
        try await inProcess { process throws in
            let me = process.pid
            let (_, ref) = try process.spawnMonitor { child in
                let alias = child.makeAlias()
                child.send(to: me, .tag("alias", .ref(alias.ref)))
            }
            let aliasRef = try await process.expect("alias") { message -> Ref? in
                if case .ref(let r)? = message.args("alias", 1)?[0] { return r } else { return nil }
            }
            _ = try await process.down(ref)
            try process.send(to: .alias(Alias(aliasRef)), .atom("lost"))
            try process.node.send(to: .alias(Alias(aliasRef)), .atom("lost"))
            #expect(process.messageQueueLength == 0)
        }
    }

    /// A reply to a `From` whose tag is an active alias arrives as
    /// `{[alias | Ref], Reply}`; once deactivated, replies are dropped.
    @Test func replyToAlias() async throws {
        try await inProcess { process throws in
            let alias = process.makeAlias()
            let from = From(pid: process.pid, tag: alias.ref)
            #expect(from.term == .tuple([.pid(process.pid), .improperList([.atom("alias")], tail: .ref(alias.ref))]))
            process.node.reply(to: from, .atom("answer"))
            let reply = try await process.next()
            #expect(reply == .tuple([.improperList([.atom("alias")], tail: .ref(alias.ref)), .atom("answer")]))
            process.deactivate(alias)
            process.node.reply(to: from, .atom("late"))
            process.send(to: process.pid, .atom("sentinel"))
            let next = try await process.next()
            #expect(next == .atom("sentinel"))
            #expect(process.messageQueueLength == 0)
        }
    }
}
