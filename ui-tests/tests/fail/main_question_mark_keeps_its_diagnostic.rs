#[derive(Debug)]
struct AppError;

#[allstak::main]
fn main() -> Result<(), AppError> {
    let _n: u8 = "7".parse()?;
    Ok(())
}
