//! The `ureq` backend: blocking HTTP on the worker thread, no async runtime.

use std::time::Duration;

use super::http::{Answer, Backend, Endpoint, MAX_RESPONSE_BODY, Meanwhile};
use super::pipeline::Pipeline;
use crate::diag;
use crate::wire::{Post, USER_AGENT};

/// The longest a TCP connect may take (the contract's 3 s), within any shorter timeout.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// ureq's agent for requests one by one, and a connection of our own to pipeline on (ureq
/// cannot write a request before it read the answer to the one before).
#[derive(Default)]
pub(super) struct Ureq {
    /// Made on first use: where every request goes pipelined (a program that ends at once),
    /// it is never needed, and making it takes some 30 µs of the exit's path.
    agent: Option<ureq::Agent>,
    pipeline: Pipeline,
}

impl Ureq {
    fn agent(&mut self, endpoint: &Endpoint) -> &ureq::Agent {
        self.agent.get_or_insert_with(|| agent_for(endpoint))
    }
}

/// ureq's agent for `endpoint`: its proxy, our user agent, no redirects, statuses as answers.
fn agent_for(endpoint: &Endpoint) -> ureq::Agent {
    let proxy = endpoint
        .proxy
        .as_deref()
        .and_then(|url| match ureq::Proxy::new(url) {
            Ok(proxy) => Some(proxy),
            Err(error) => {
                diag::warning!("the proxy cannot be used ({error}); sending directly");
                None
            }
        });
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(USER_AGENT)
        .max_redirects(0)
        .proxy(proxy)
        // Our requests and their answers are small: ureq's 128 KiB default buffers cost
        // two fresh zeroed allocations per connection, ~100 µs on loopback.
        .input_buffer_size(16 * 1024)
        .output_buffer_size(16 * 1024);
    // Without a TLS feature, only `http://` hosts can be reached.
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    let config = config.tls_config(
        ureq::tls::TlsConfig::builder()
            .provider(if cfg!(feature = "native-tls") {
                ureq::tls::TlsProvider::NativeTls
            } else {
                ureq::tls::TlsProvider::Rustls
            })
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build(),
    );
    config.build().new_agent()
}

impl Backend for Ureq {
    fn post(&mut self, endpoint: &Endpoint, request: &Post, timeout: Duration) -> Answer {
        // On the connection of our own where one is open (a long-running program's start
        // goes out after the connection opened ahead for it): one connection, not two.
        if self.pipeline.holds_one_to(endpoint)
            && let Some(answers) = self.pipeline.post_all(endpoint, &[request], timeout)
        {
            return answers.into_iter().next().unwrap_or_else(|| {
                Answer::Unreachable("the connection ended before the answer came".to_owned())
            });
        }
        let url = format!("{}{}", endpoint.host, request.path);
        // Each phase is bounded rather than the whole call: a whole-call timeout makes ureq
        // resolve the host on a thread of its own per request. DNS is then bounded by the
        // system resolver, and the process's exit by the deadline, whatever this thread does.
        let response = self
            .agent(endpoint)
            .post(&url)
            .config()
            .timeout_connect(Some(timeout.min(CONNECT_TIMEOUT)))
            .timeout_send_request(Some(timeout))
            .timeout_send_body(Some(timeout))
            .timeout_recv_response(Some(timeout))
            .timeout_recv_body(Some(timeout))
            .build()
            .header("Content-Type", "application/json")
            .header("X-AllStak-Key", &endpoint.key)
            .send(&request.body[..]);
        match response {
            Ok(mut response) => {
                let answer = Answer::Status {
                    status: response.status().as_u16(),
                    retry_after: response
                        .headers()
                        .get("retry-after")
                        .and_then(|value| value.to_str().ok())
                        .map(str::to_owned),
                };
                // Read the body so the connection can be reused, up to a bound (past it the
                // read fails and the connection is dropped); within `timeout_recv_body`.
                let mut body = response
                    .body_mut()
                    .with_config()
                    .limit(MAX_RESPONSE_BODY)
                    .reader();
                let _ = std::io::copy(&mut body, &mut std::io::sink());
                answer
            }
            Err(error) => Answer::Unreachable(error.to_string()),
        }
    }

    /// Opens the pipelined connection ahead of time (not through a proxy: see
    /// [`Pipeline::post_all`]).
    fn warm(&mut self, endpoint: &Endpoint, timeout: Duration) -> Option<bool> {
        self.pipeline.warm(endpoint, timeout)
    }

    /// Pipelines on the connection of our own; `None` through a proxy, where ureq posts them
    /// one by one.
    fn post_all(
        &mut self,
        endpoint: &Endpoint,
        requests: &[&Post],
        timeout: Duration,
    ) -> Option<Vec<Answer>> {
        self.pipeline.post_all(endpoint, requests, timeout)
    }

    fn meanwhile(&mut self, work: Option<Meanwhile>) {
        self.pipeline.meanwhile(work);
    }
}
