//! The `reqwest` backend, for programs that already depend on reqwest: its async client,
//! driven by a current-thread tokio runtime of our own on the worker thread. The program's
//! runtime is never used or required, and no thread is added (reqwest's blocking client would
//! spawn one more, with its own runtime).

use std::time::Duration;

use super::http::{Answer, Backend, Endpoint, MAX_RESPONSE_BODY};
use crate::diag;
use crate::wire::{Post, USER_AGENT};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

pub(super) struct Reqwest {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Reqwest {
    pub(super) fn new(endpoint: &Endpoint) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            // Its blocking pool (name lookups) is the SDK's too: what it logs is not the program's.
            .on_thread_start(crate::sdk_thread::mark)
            .enable_io()
            .enable_time()
            .build()
            .map_err(|error| format!("no runtime for reqwest: {error}"))?;
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            // Our proxy is resolved once, from our settings; reqwest must not read its own.
            .no_proxy();
        #[cfg(feature = "native-tls")]
        {
            builder = builder.tls_backend_native();
        }
        #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
        {
            builder = builder.tls_backend_rustls();
        }
        if let Some(url) = &endpoint.proxy {
            match reqwest::Proxy::all(url.as_str()) {
                Ok(proxy) => builder = builder.proxy(proxy),
                Err(error) => {
                    diag::warning!("the proxy cannot be used ({error}); sending directly");
                }
            }
        }
        let client = builder
            .build()
            .map_err(|error| format!("no reqwest client: {error}"))?;
        Ok(Self { runtime, client })
    }
}

impl Backend for Reqwest {
    fn post(&mut self, endpoint: &Endpoint, request: &Post, timeout: Duration) -> Answer {
        let url = format!("{}{}", endpoint.host, request.path);
        let sent = self
            .client
            .post(url)
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .header("X-AllStak-Key", &endpoint.key)
            .body(request.body.clone());
        // Inside the runtime: the request's timeout is a timer of this runtime.
        self.runtime.block_on(async {
            let mut response = match sent.send().await {
                Ok(response) => response,
                Err(error) => return Answer::Unreachable(error.to_string()),
            };
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            // Read the body so the connection can be reused, up to a bound (past it the
            // connection is dropped); the time is bounded by the request's timeout.
            let mut read = 0;
            while read <= MAX_RESPONSE_BODY {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        read = read.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            Answer::Status {
                status,
                retry_after,
            }
        })
    }
}
