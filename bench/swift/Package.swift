// swift-tools-version: 6.2
import PackageDescription

// Ergo's Swift benchmarks, a package of their own so that the root package
// carries no benchmark code or dependencies. Build in release mode:
//   swift build -c release --package-path bench/swift
// (bench/run.sh does this and runs the `ergo-bench` executable).
let package = Package(
    name: "ErgoBench",
    products: [
        .executable(name: "ergo-bench", targets: ["ErgoBench"]),
    ],
    dependencies: [
        .package(name: "Ergo", path: "../.."),
        // Only to send the nodes' log lines to standard error (swift-log's
        // default handler writes to standard output, among the figures).
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "ErgoBench",
            dependencies: [
                .product(name: "Ergo", package: "Ergo"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [
                .swiftLanguageMode(.v6),
                .treatAllWarnings(as: .error),
                // As in the Ergo target: async functions run where their
                // caller runs (the process's scheduler thread); a GenServer's
                // callbacks and helpers called from a process stay on it.
                .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
            ]
        ),
    ]
)
