struct Store;

#[allstak::track]
impl Store {
    fn load(&self) -> Result<u8, ()> {
        Ok(1)
    }
}

fn main() {
    let _ = Store.load();
}
