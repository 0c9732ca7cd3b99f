//! Secure random bytes from the operating system (tokens, ids, salts,
//! back-off jitter).

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).expect("the operating system has a secure random source");
    out
}
