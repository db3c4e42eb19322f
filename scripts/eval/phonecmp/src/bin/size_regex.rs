//! The same trivial main with the regex crate only (curate links regex already),
//! to separate phonenumber's own share from regex's.
fn main() {
    let s = std::env::args().nth(1).unwrap_or_default();
    let re = regex::Regex::new(r"^\+?[0-9 ().\-]{7,20}$").unwrap();
    println!("{}", re.is_match(&s));
}
