// swift-tools-version: 6.2
import PackageDescription

// System libraries the C core links. Each names its pkg-config module and the
// Debian package that provides it, so a missing one is reported clearly.
let systemLibraries: [Target] = [
    .systemLibrary(name: "CZlib", path: "Sources/CZlib",
                   pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(name: "CLibUring", path: "Sources/CLibUring",
                   pkgConfig: "liburing", providers: [.apt(["liburing-dev"])]),
    .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL",
                   pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
]

let strictC: [CSetting] = [
    .enableWarning("all"),
    .enableWarning("extra"),
    .treatAllWarnings(as: .error),
]

let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "Ergo",
    products: [
        .library(name: "Ergo", targets: ["Ergo"]),
        .executable(name: "ergo", targets: ["ErgoCLI"]),
        .executable(name: "supervision-example", targets: ["SupervisionExample"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: systemLibraries + [
        .target(
            name: "CErgoCore",
            dependencies: ["CZlib", "CLibUring", "COpenSSL"],
            cSettings: strictC
        ),
        .target(
            name: "Ergo",
            dependencies: [
                "CErgoCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: strictSwift + [
                // Async functions run where their caller runs (a process's
                // scheduler thread) instead of hopping through the runtime's
                // executor switch at every call.
                .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
            ]
        ),
        .target(
            name: "ErgoDemo",
            dependencies: ["Ergo"],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "ErgoCLI",
            dependencies: [
                "Ergo",
                "ErgoDemo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "SupervisionExample",
            dependencies: ["Ergo", .product(name: "Logging", package: "swift-log")],
            path: "Examples/SupervisionTree",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ErgoTests",
            dependencies: ["Ergo", "ErgoDemo", "CErgoCore"],
            exclude: ["Fixtures", "Erlang"],
            swiftSettings: strictSwift
        ),
    ],
    cLanguageStandard: .c11
)
