//! The Sock Shop application the demo cluster runs: its services, replica counts, baseline
//! latencies and who calls whom (with the share of requests that make each call).

pub const NAMESPACE: &str = "sock-shop";
pub const NODES: [&str; 3] = ["worker-1", "worker-2", "worker-3"];

pub struct ServiceDef {
    pub name: &'static str,
    pub replicas: u32,
    /// Own processing time of a request, in milliseconds.
    pub base_ms: f64,
    /// Requests per second at the front door of this service.
    pub rps: f64,
    /// (callee, share of this service's requests that call it)
    pub calls: &'static [(&'static str, f64)],
}

pub const SERVICES: &[ServiceDef] = &[
    ServiceDef {
        name: "front-end",
        replicas: 2,
        base_ms: 15.0,
        rps: 120.0,
        calls: &[("catalogue", 0.6), ("carts", 0.35), ("orders", 0.1), ("user", 0.3), ("session-db", 1.0)],
    },
    ServiceDef { name: "catalogue", replicas: 2, base_ms: 8.0, rps: 72.0, calls: &[("catalogue-db", 1.0)] },
    ServiceDef { name: "catalogue-db", replicas: 1, base_ms: 3.0, rps: 72.0, calls: &[] },
    ServiceDef { name: "carts", replicas: 3, base_ms: 10.0, rps: 54.0, calls: &[("carts-db", 1.0)] },
    ServiceDef { name: "carts-db", replicas: 1, base_ms: 3.0, rps: 54.0, calls: &[] },
    ServiceDef {
        name: "orders",
        replicas: 2,
        base_ms: 20.0,
        rps: 12.0,
        calls: &[("orders-db", 1.0), ("carts", 1.0), ("user", 1.0), ("payment", 1.0), ("shipping", 1.0)],
    },
    ServiceDef { name: "orders-db", replicas: 1, base_ms: 3.0, rps: 12.0, calls: &[] },
    ServiceDef { name: "payment", replicas: 2, base_ms: 5.0, rps: 12.0, calls: &[] },
    ServiceDef { name: "shipping", replicas: 1, base_ms: 8.0, rps: 12.0, calls: &[("rabbitmq", 1.0)] },
    ServiceDef { name: "queue-master", replicas: 1, base_ms: 5.0, rps: 12.0, calls: &[("rabbitmq", 1.0)] },
    ServiceDef { name: "rabbitmq", replicas: 1, base_ms: 2.0, rps: 24.0, calls: &[] },
    ServiceDef { name: "user", replicas: 2, base_ms: 8.0, rps: 48.0, calls: &[("user-db", 1.0)] },
    ServiceDef { name: "user-db", replicas: 1, base_ms: 3.0, rps: 48.0, calls: &[] },
    ServiceDef { name: "session-db", replicas: 1, base_ms: 1.0, rps: 120.0, calls: &[] },
];

/// A caller gives up on a call after this long.
pub const CALL_TIMEOUT_MS: f64 = 1000.0;
/// Time from a pod's deficit until its controller creates a replacement.
pub const CONTROLLER_DELAY_MS: u64 = 2000;
/// Image pull and container start.
pub const START_MS: u64 = 2000;
/// From container start until the readiness probe passes.
pub const READY_MS: u64 = 3000;
/// Simulated requests per service per step, from which success and p95 are measured.
pub const SAMPLES_PER_STEP: usize = 200;
