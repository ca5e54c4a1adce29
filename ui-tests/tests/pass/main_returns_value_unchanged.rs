#![deny(warnings)]
#![deny(clippy::pedantic)]

fn main() {
    let value: Result<u8, std::num::ParseIntError> = {
        #[allstak::main]
        fn main() -> Result<u8, std::num::ParseIntError> {
            "3".parse()
        }
        main()
    };
    assert_eq!(value, Ok(3));
}
