//! A program setting a user, tags and a `before_send` hook, playing the scenario its argument
//! names (`allstak_tests::Context`).

use allstak_tests::{Context, Scenario as _};

fn main() {
    let scenario = Context::of_this_process();
    let mut config = allstak::Config::builder().default_release(allstak::release_name!());
    match scenario {
        Context::BeforeSend => {
            config = config.before_send(|mut event| {
                if event.message().contains("drop me") {
                    return None;
                }
                if event.message().contains("hook panics") {
                    panic!("a bug in before_send");
                }
                let shouted = event.message().to_uppercase();
                event.set_message(shouted);
                event.set_exception_class("Rewritten");
                event.set_level(allstak::Level::Warning);
                event.set_user(Some(allstak::User::new().with_id("from-hook")));
                let tenant = event.metadata().get("tenant").cloned();
                event
                    .metadata_mut()
                    .insert("seen_tenant".to_owned(), tenant.unwrap_or_default());
                Some(event)
            });
        }
        Context::ScrubOff => config = config.scrub_defaults(false),
        Context::UserAndTags | Context::ScrubOn => {}
    }
    let guard = allstak::init(config.build());
    match scenario {
        Context::UserAndTags => {
            allstak::capture_display("with the configured user");
            allstak::set_user(
                allstak::User::new()
                    .with_id("u-42")
                    .with_email("ada@example.com")
                    .with_ip("203.0.113.7"),
            );
            allstak::set_tag("region", "eu-west-1");
            allstak::set_tag("tenant", "acme");
            allstak::capture_display("with a user and tags");
            allstak::set_user(None);
            allstak::remove_tag("tenant");
            allstak::capture_display("without a user");
        }
        Context::BeforeSend => {
            allstak::set_tag("tenant", "acme");
            allstak::capture_display("drop me");
            allstak::capture_display("hook panics");
            allstak::capture_display("keep me");
            // A panic's event goes through the hook too (on the SDK's thread).
            let _ = std::thread::spawn(|| panic!("worker failed")).join();
        }
        Context::ScrubOn | Context::ScrubOff => {
            for name in [
                "password",
                "client_secret",
                "refresh_token",
                "api_key",
                "apikey",
                "authorization",
                "cookie",
                "region",
            ] {
                allstak::set_tag(name, "value");
            }
            let key = std::env::var("ALLSTAK_API_KEY").unwrap_or_default();
            allstak::capture_display(&format!("the key {key} was refused"));
        }
    }
    drop(guard);
    println!("done");
}
