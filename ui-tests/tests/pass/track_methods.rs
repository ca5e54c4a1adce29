#![deny(warnings)]
#![deny(clippy::pedantic)]
//! Methods and signatures: `Self`, receivers of every kind, returned borrows of arguments,
//! lifetimes, generics with `where` clauses and `T::Err`, `impl Trait` arguments, `mut`
//! parameters, trait impls and default methods.

use std::fmt::Display;
use std::str::FromStr;

#[derive(Debug, PartialEq)]
struct Empty;

#[derive(Debug)]
struct Store {
    items: Vec<u8>,
}

impl Store {
    #[allstak::track]
    fn new(items: Vec<u8>) -> Result<Self, Empty> {
        if items.is_empty() {
            Err(Empty)
        } else {
            Ok(Self { items })
        }
    }

    #[allstak::track]
    fn first_mut(&mut self) -> Result<&mut u8, Empty> {
        self.items.first_mut().ok_or(Empty)
    }

    #[allstak::track]
    fn get<'a>(&'a self, index: usize) -> Result<&'a u8, Empty> {
        self.items.get(index).ok_or(Empty)
    }

    #[allstak::track]
    fn longest<'a>(&self, a: &'a str, b: &'a str) -> Result<&'a str, Empty> {
        if self.items.is_empty() {
            return Err(Empty);
        }
        Ok(if a.len() >= b.len() { a } else { b })
    }

    #[allstak::track]
    fn into_items(self) -> Result<Vec<u8>, Empty> {
        Ok(self.items)
    }

    #[allstak::track]
    fn boxed(self: Box<Self>) -> Result<usize, Empty> {
        Ok(self.items.len())
    }

    #[allstak::track]
    fn push(&mut self, mut value: u8) -> Result<usize, Empty> {
        value = value.saturating_add(1);
        self.items.push(value);
        Ok(self.items.len())
    }
}

#[allstak::track]
fn parse_any<T>(text: &str) -> Result<T, T::Err>
where
    T: FromStr,
    T::Err: Display,
{
    text.trim().parse()
}

#[allstak::track]
fn sum_of(items: impl IntoIterator<Item = u8>, mut total: u32) -> Result<u32, Empty> {
    for item in items {
        total += u32::from(item);
    }
    Ok(total)
}

#[allstak::track]
fn split_first<'a, T: Clone + 'a>(items: &'a [T]) -> Result<(&'a T, Vec<T>), Empty> {
    let (first, rest) = items.split_first().ok_or(Empty)?;
    Ok((first, rest.to_vec()))
}

#[allstak::track]
fn by_pattern((a, b): (u8, u8), [c, d]: [u8; 2]) -> Result<u8, Empty> {
    Ok(a + b + c + d)
}

trait Loader {
    fn load(&self, key: &str) -> Result<String, Empty>;

    #[allstak::track]
    fn load_or_default(&self, key: &str) -> Result<String, Empty> {
        self.load(key).or_else(|Empty| Ok(String::new()))
    }
}

struct Files;

impl Loader for Files {
    #[allstak::track]
    fn load(&self, key: &str) -> Result<String, Empty> {
        if key.is_empty() {
            Err(Empty)
        } else {
            Ok(key.to_uppercase())
        }
    }
}

fn main() {
    assert!(Store::new(Vec::new()).is_err());
    let mut store = Store::new(vec![1, 2, 3]).expect("items");
    *store.first_mut().expect("first") = 9;
    assert_eq!(store.get(0), Ok(&9));
    assert_eq!(store.get(7), Err(Empty));
    assert_eq!(store.longest("ab", "abc"), Ok("abc"));
    assert_eq!(store.push(4), Ok(4));
    assert_eq!(Box::new(Store::new(vec![1]).expect("items")).boxed(), Ok(1));
    assert_eq!(store.into_items(), Ok(vec![9, 2, 3, 5]));
    assert_eq!(parse_any::<u16>(" 300 "), Ok(300));
    assert!(parse_any::<u8>("300").is_err());
    assert_eq!(sum_of([1, 2], 10), Ok(13));
    assert_eq!(split_first(&[1, 2, 3]), Ok((&1, vec![2, 3])));
    assert_eq!(by_pattern((1, 2), [3, 4]), Ok(10));
    assert_eq!(Files.load("k").as_deref(), Ok("K"));
    assert_eq!(Files.load_or_default("").as_deref(), Ok(""));
}
