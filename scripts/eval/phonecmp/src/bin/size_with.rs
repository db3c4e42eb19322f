//! Trivial main that links phonenumber (parse + is_valid of argv[1], region US).
fn main() {
    let s = std::env::args().nth(1).unwrap_or_default();
    let ok = phonenumber::parse(Some(phonenumber::country::Id::US), &s)
        .map(|n| phonenumber::is_valid(&n))
        .unwrap_or(false);
    println!("{ok}");
}
