#[derive(Debug)]
struct AppError;

#[allstak::track]
fn parse(text: &str) -> Result<u8, AppError> {
    let n: u8 = text.parse()?;
    Ok(n)
}

#[allstak::track]
fn wrong_tail() -> Result<u8, AppError> {
    Ok("seven")
}

#[allstak::track]
async fn wrong_async_tail() -> Result<u8, AppError> {
    Ok("seven")
}

fn main() {
    let _ = (parse("1"), wrong_tail(), wrong_async_tail());
}
