#[allstak::main(in_app_include = "shop_core", in_app_exclude = ["tokio::*", 3, shop::generated, "ok"])]
fn main() {
    println!("still expands");
}
