#![deny(warnings)]
#![deny(clippy::pedantic)]
//! `async fn`s: free, methods, `async unsafe fn`, in trait impls (native and `#[async_trait]`,
//! including a default method), returned borrows, coercions in the tail, `impl Future` and
//! boxed futures written by hand.

use std::future::Future;
use std::pin::Pin;

#[derive(Debug, PartialEq)]
struct Failed(u8);

async fn tick() {
    tokio::task::yield_now().await;
}

#[allstak::track]
async fn free(n: u8) -> Result<u8, Failed> {
    tick().await;
    if n == 0 {
        return Err(Failed(n));
    }
    Ok(n)
}

/// A glob import and items inside the body: its `io::Result` must not become the `Result` the
/// attribute names the fn's return type with, nor the items come after a statement of ours.
#[allstak::track]
async fn use_and_items_inside_the_body(text: &str) -> Result<String, Failed> {
    #[allow(clippy::wildcard_imports)]
    use std::io::*;
    const SUFFIX: &str = "!";
    fn helper() -> &'static str {
        "x"
    }
    tick().await;
    let mut read = String::new();
    Cursor::new(text)
        .read_to_string(&mut read)
        .map_err(|_| Failed(0))?;
    Ok(read + helper() + SUFFIX)
}

#[allstak::track]
async fn question_mark(text: &str) -> Result<u8, std::num::ParseIntError> {
    tick().await;
    let n: u8 = text.parse()?;
    Ok(n + 1)
}

#[allstak::track]
async fn coerced_tail(n: u8) -> Result<Box<dyn Fn() -> u8 + Send>, Failed> {
    tick().await;
    if n == 0 {
        return Ok(Box::new(|| 0));
    }
    Ok(Box::new(move || n))
}

#[allstak::track]
async fn impl_trait_in_return(n: u8) -> Result<impl Iterator<Item = u8>, Failed> {
    tick().await;
    Ok(0..n)
}

#[allstak::track]
/// # Safety
/// `p` must be valid for reads.
async unsafe fn async_unsafe(p: *const u8) -> Result<u8, Failed> {
    tick().await;
    // SAFETY: the caller promises `p` is valid.
    Ok(unsafe { *p })
}

#[allstak::track]
async fn mutable_parameter(mut n: u8) -> Result<u8, Failed> {
    tick().await;
    n += 1;
    Ok(n)
}

#[allstak::track]
fn hand_written_impl_future(n: u8) -> impl Future<Output = Result<u8, Failed>> + Send {
    async move {
        tick().await;
        if n == 0 { Err(Failed(n)) } else { Ok(n) }
    }
}

#[allstak::track]
fn hand_written_boxed_future<'a>(
    text: &'a str,
) -> Pin<Box<dyn Future<Output = Result<usize, Failed>> + Send + 'a>> {
    Box::pin(async move {
        tick().await;
        Ok(text.len())
    })
}

struct Store {
    items: Vec<u8>,
}

impl Store {
    #[allstak::track]
    async fn first_mut(&mut self) -> Result<&mut u8, Failed> {
        tick().await;
        self.items.first_mut().ok_or(Failed(0))
    }

    #[allstak::track]
    async fn total(&self) -> Result<u32, Failed> {
        tick().await;
        Ok(self.items.iter().map(|&i| u32::from(i)).sum())
    }
}

trait Native {
    async fn fetch(&self, n: u8) -> Result<u8, Failed>;
}

impl Native for Store {
    #[allstak::track]
    async fn fetch(&self, n: u8) -> Result<u8, Failed> {
        tick().await;
        self.items.get(usize::from(n)).copied().ok_or(Failed(n))
    }
}

#[async_trait::async_trait]
trait Remote {
    async fn get(&self, n: u8) -> Result<u8, Failed>;

    #[allstak::track]
    async fn get_twice(&self, n: u8) -> Result<u8, Failed> {
        Ok(self.get(n).await? + self.get(n).await?)
    }
}

#[async_trait::async_trait]
impl Remote for Store {
    #[allstak::track]
    async fn get(&self, n: u8) -> Result<u8, Failed> {
        tick().await;
        self.items.get(usize::from(n)).copied().ok_or(Failed(n))
    }
}

fn is_send<T: Send>(value: T) -> T {
    value
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(is_send(free(1)).await, Ok(1));
    assert_eq!(free(0).await, Err(Failed(0)));
    assert_eq!(question_mark("4").await, Ok(5));
    assert_eq!(
        use_and_items_inside_the_body("a").await.as_deref(),
        Ok("ax!")
    );
    assert!(question_mark("x").await.is_err());
    assert_eq!(is_send(coerced_tail(3)).await.map(|f| f()), Ok(3));
    assert_eq!(coerced_tail(0).await.map(|f| f()), Ok(0));
    assert_eq!(impl_trait_in_return(3).await.map(Iterator::count), Ok(3));
    // SAFETY: a valid pointer.
    assert_eq!(unsafe { async_unsafe(&5) }.await, Ok(5));
    assert_eq!(mutable_parameter(1).await, Ok(2));
    assert_eq!(hand_written_impl_future(2).await, Ok(2));
    assert_eq!(hand_written_impl_future(0).await, Err(Failed(0)));
    assert_eq!(hand_written_boxed_future("abc").await, Ok(3));
    let mut store = Store {
        items: vec![1, 2, 3],
    };
    *store.first_mut().await.expect("first") = 9;
    assert_eq!(store.total().await, Ok(14));
    assert_eq!(is_send(store.fetch(1)).await, Ok(2));
    assert_eq!(store.fetch(7).await, Err(Failed(7)));
    assert_eq!(store.get(0).await, Ok(9));
    assert_eq!(store.get(9).await, Err(Failed(9)));
    assert_eq!(store.get_twice(2).await, Ok(6));
}
