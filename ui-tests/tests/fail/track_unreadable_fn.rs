// A function all the same, with a parameter missing its type: said where, as rustc says it.
#[allstak::track]
fn broken(n: ) -> Result<u8, String> {
    Ok(1)
}

fn main() {}
