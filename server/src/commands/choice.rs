//! Options that take one of a fixed set of names (`--format`, `--role`,
//! `--level`, `--group`, a stage, a field, a channel).
//!
//! clap checks the name: `--help` lists the choices, and a typo is refused
//! with the list before the command opens or writes anything. The names come
//! from the domain types themselves (`Stage::as_str`, `Role::as_str`, …), the
//! ones documents and the API use, so there is no second list to keep.

use clap::builder::{PossibleValuesParser, TypedValueParser};

/// A parser for one of `choices`, each written as `name` gives it.
pub fn one_of<T, N>(choices: &'static [T], name: fn(T) -> N) -> impl TypedValueParser<Value = T>
where
    T: Copy + Send + Sync + 'static,
    N: Into<String> + 'static,
{
    let names: Vec<String> = choices.iter().map(|c| name(*c).into()).collect();
    PossibleValuesParser::new(names).map(move |given| {
        *choices
            .iter()
            .find(|c| name(**c).into() == given)
            .expect("clap accepts only the names listed")
    })
}
