#[allstak::main]
fn main()
where
    u8: Copy,
{
}
