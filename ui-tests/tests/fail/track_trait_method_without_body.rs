trait Store {
    #[allstak::track]
    fn load(&self) -> Result<u8, String>;
}

struct Memory;

impl Store for Memory {
    fn load(&self) -> Result<u8, String> {
        Ok(1)
    }
}

fn main() {
    let _ = Memory.load();
}
