//! Parsing the attribute's arguments: `worker_threads = 4, topology = "2x4", ...`.
//!
//! Works on `proc_macro2` tokens so that it can be unit-tested outside a macro invocation. Every
//! error is spanned at the token that is wrong: the value for a bad value, the name for an unknown
//! or repeated argument.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitBool, LitInt, LitStr, Meta, Token};

/// The names accepted, for error messages.
const EXPECTED: &str =
    "expected one of `worker_threads`, `topology`, `affinity`, `pin_workers`, `crate`";

/// The parsed arguments of `#[moirai::main(...)]` / `#[moirai::test(...)]`.
#[derive(Default)]
pub(crate) struct Args {
    /// `worker_threads = N`: the value and the literal's span.
    pub(crate) worker_threads: Option<(usize, Span)>,
    /// `topology = "2x4"`: the validated literal.
    pub(crate) topology: Option<LitStr>,
    /// `pin_workers = true|false`.
    pub(crate) pin_workers: Option<LitBool>,
    /// `affinity = "node"|"cpu"|"unbound"`: the variant's name and the literal's span.
    pub(crate) affinity: Option<(&'static str, Span)>,
    /// `crate = "path"`: the path to the `moirai` crate.
    pub(crate) krate: Option<syn::Path>,
}

/// Parses the tokens between the attribute's parentheses.
pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Args> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens)?;
    let mut args = Args::default();
    for meta in metas {
        let Meta::NameValue(pair) = &meta else {
            let name = meta.path();
            return Err(syn::Error::new_spanned(
                &meta,
                format!(
                    "expected `name = value`, e.g. `{} = ...`; {EXPECTED}",
                    path_text(name)
                ),
            ));
        };
        let name = path_text(&pair.path);
        let duplicate =
            || syn::Error::new_spanned(&pair.path, format!("duplicate argument `{name}`"));
        let value = &pair.value;
        match name.as_str() {
            "worker_threads" => {
                if args.worker_threads.is_some() {
                    return Err(duplicate());
                }
                args.worker_threads = Some(worker_threads(value)?);
            }
            "topology" => {
                if args.topology.is_some() {
                    return Err(duplicate());
                }
                let lit = string_literal(value, "topology", "\"2x4\"")?;
                if let Err(reason) = crate::spec::validate(&lit.value()) {
                    return Err(syn::Error::new(
                        lit.span(),
                        format!("invalid topology {:?}: {reason}", lit.value()),
                    ));
                }
                args.topology = Some(lit);
            }
            "pin_workers" => {
                if args.pin_workers.is_some() {
                    return Err(duplicate());
                }
                args.pin_workers = Some(match literal(value) {
                    Some(Lit::Bool(b)) => b.clone(),
                    _ => {
                        return Err(syn::Error::new_spanned(
                            value,
                            "`pin_workers` must be `true` or `false`",
                        ))
                    }
                });
            }
            "affinity" => {
                if args.affinity.is_some() {
                    return Err(duplicate());
                }
                args.affinity = Some(affinity(value)?);
            }
            "crate" => {
                if args.krate.is_some() {
                    return Err(duplicate());
                }
                let lit = string_literal(value, "crate", "\"::moirai\"")?;
                let path = lit.parse::<syn::Path>().map_err(|_| {
                    syn::Error::new(
                        lit.span(),
                        format!(
                            "`crate` must be a path such as \"::moirai\", not {:?}",
                            lit.value()
                        ),
                    )
                })?;
                args.krate = Some(path);
            }
            _ => {
                return Err(syn::Error::new_spanned(
                    &pair.path,
                    format!("unknown argument `{name}`; {EXPECTED}"),
                ))
            }
        }
    }
    if let (Some(pin), Some(_)) = (&args.pin_workers, &args.affinity) {
        return Err(syn::Error::new(
            pin.span(),
            "`pin_workers` and `affinity` both say where workers run; keep `affinity` \
             (`pin_workers = true` is `affinity = \"cpu\"`)",
        ));
    }
    Ok(args)
}

/// `affinity = "node" | "cpu" | "unbound"`: the `Affinity` variant to name.
fn affinity(value: &Expr) -> syn::Result<(&'static str, Span)> {
    let lit = string_literal(value, "affinity", "\"node\"")?;
    let variant = match lit.value().as_str() {
        "node" => "Node",
        "cpu" => "Cpu",
        "unbound" => "Unbound",
        other => {
            return Err(syn::Error::new(
                lit.span(),
                format!("`affinity` must be \"node\", \"cpu\" or \"unbound\", not {other:?}"),
            ))
        }
    };
    Ok((variant, lit.span()))
}

/// The path as written (`worker_threads`, `crate`, `a::b`).
fn path_text(path: &syn::Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let prefix = if path.leading_colon.is_some() {
        "::"
    } else {
        ""
    };
    format!("{prefix}{}", segments.join("::"))
}

/// The literal `value` is, if it is one (looking through invisible groups from `macro_rules!`).
fn literal(value: &Expr) -> Option<&Lit> {
    match value {
        Expr::Lit(ExprLit { lit, attrs }) if attrs.is_empty() => Some(lit),
        Expr::Group(group) => literal(&group.expr),
        _ => None,
    }
}

fn string_literal(value: &Expr, name: &str, example: &str) -> syn::Result<LitStr> {
    match literal(value) {
        Some(Lit::Str(s)) => Ok(s.clone()),
        _ => Err(syn::Error::new_spanned(
            value,
            format!("`{name}` must be a string literal, e.g. `{name} = {example}`"),
        )),
    }
}

fn worker_threads(value: &Expr) -> syn::Result<(usize, Span)> {
    let Some(Lit::Int(int)) = literal(value) else {
        return Err(syn::Error::new_spanned(
            value,
            "`worker_threads` must be an integer literal, e.g. `worker_threads = 4`",
        ));
    };
    let n = checked_int(int)?;
    if n == 0 {
        return Err(syn::Error::new(
            int.span(),
            "`worker_threads` must be at least 1 (a runtime with no workers can run nothing)",
        ));
    }
    Ok((n, int.span()))
}

fn checked_int(int: &LitInt) -> syn::Result<usize> {
    if !matches!(int.suffix(), "" | "usize") {
        return Err(syn::Error::new(
            int.span(),
            format!(
                "`worker_threads` is a `usize`; drop the `{}` suffix",
                int.suffix()
            ),
        ));
    }
    if int.base10_digits().starts_with('-') {
        return Err(syn::Error::new(
            int.span(),
            "`worker_threads` must be at least 1",
        ));
    }
    int.base10_parse::<usize>().map_err(|_| {
        syn::Error::new(
            int.span(),
            format!(
                "`worker_threads = {}` does not fit in a usize",
                int.base10_digits()
            ),
        )
    })
}

/// A span that covers `tokens`, for tests that check where an error points.
#[cfg(test)]
fn span_text(span: Span) -> Option<String> {
    span.source_text()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn err(tokens: TokenStream) -> syn::Error {
        match parse(tokens) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e,
        }
    }

    #[test]
    fn empty_arguments_are_all_defaults() {
        let args = parse(quote!()).unwrap();
        assert!(args.worker_threads.is_none());
        assert!(args.topology.is_none());
        assert!(args.pin_workers.is_none());
        assert!(args.affinity.is_none());
        assert!(args.krate.is_none());
    }

    #[test]
    fn parses_affinity() {
        for (value, variant) in [("node", "Node"), ("cpu", "Cpu"), ("unbound", "Unbound")] {
            let args = parse(quote!(affinity = #value)).unwrap();
            assert_eq!(args.affinity.map(|(v, _)| v), Some(variant));
        }
    }

    #[test]
    fn rejects_bad_affinity() {
        for (tokens, needle) in [
            (quote!(affinity = node), "must be a string literal"),
            (
                quote!(affinity = "numa"),
                "must be \"node\", \"cpu\" or \"unbound\", not \"numa\"",
            ),
            (quote!(affinity = "Node"), "not \"Node\""),
            (
                quote!(pin_workers = true, affinity = "node"),
                "`pin_workers` and `affinity` both say where workers run",
            ),
            (
                quote!(affinity = "cpu", pin_workers = false),
                "`pin_workers` and `affinity` both say where workers run",
            ),
        ] {
            let e = err(tokens.clone());
            assert!(e.to_string().contains(needle), "{tokens}: {e}");
        }
    }

    #[test]
    fn parses_every_argument() {
        let args = parse(quote!(
            worker_threads = 4,
            topology = "2x2",
            pin_workers = true,
            crate = "my::moirai",
        ))
        .unwrap();
        assert_eq!(args.worker_threads.map(|(n, _)| n), Some(4));
        assert_eq!(args.topology.unwrap().value(), "2x2");
        assert!(args.pin_workers.unwrap().value);
        let krate = args.krate.unwrap();
        assert_eq!(quote!(#krate).to_string(), quote!(my::moirai).to_string());

        let args = parse(quote!(pin_workers = false, worker_threads = 1usize)).unwrap();
        assert!(!args.pin_workers.unwrap().value);
        assert_eq!(args.worker_threads.map(|(n, _)| n), Some(1));
    }

    #[test]
    fn rejects_unknown_arguments() {
        let e = err(quote!(workers = 4));
        assert!(e.to_string().contains("unknown argument `workers`"), "{e}");
        assert!(e.to_string().contains("worker_threads"), "{e}");
        let e = err(quote!(pin_workers));
        assert!(e.to_string().contains("expected `name = value`"), "{e}");
        let e = err(quote!(flavor(multi)));
        assert!(e.to_string().contains("expected `name = value`"), "{e}");
    }

    #[test]
    fn rejects_duplicates() {
        for tokens in [
            quote!(worker_threads = 1, worker_threads = 2),
            quote!(topology = "1x1", topology = "1x1"),
            quote!(pin_workers = true, pin_workers = true),
            quote!(affinity = "node", affinity = "cpu"),
            quote!(crate = "a", crate = "b"),
        ] {
            let e = err(tokens);
            assert!(e.to_string().starts_with("duplicate argument `"), "{e}");
        }
    }

    #[test]
    fn rejects_bad_worker_threads() {
        for (tokens, needle) in [
            (quote!(worker_threads = "x"), "must be an integer literal"),
            (quote!(worker_threads = n), "must be an integer literal"),
            // syn folds `-1` into one negative integer literal.
            (quote!(worker_threads = -1), "must be at least 1"),
            (quote!(worker_threads = -(1)), "must be an integer literal"),
            (quote!(worker_threads = 2.5), "must be an integer literal"),
            (quote!(worker_threads = 0), "at least 1"),
            (quote!(worker_threads = 4u8), "drop the `u8` suffix"),
            (
                quote!(worker_threads = 999999999999999999999999),
                "does not fit",
            ),
        ] {
            let e = err(tokens.clone());
            assert!(e.to_string().contains(needle), "{tokens}: {e}");
        }
    }

    #[test]
    fn rejects_bad_topology() {
        for (tokens, needle) in [
            (quote!(topology = 24), "must be a string literal"),
            (quote!(topology = "2x"), "invalid topology \"2x\""),
            (quote!(topology = "0x4"), "node count must be at least 1"),
            (quote!(topology = "abc"), "missing the 'x'"),
        ] {
            let e = err(tokens.clone());
            assert!(e.to_string().contains(needle), "{tokens}: {e}");
        }
    }

    #[test]
    fn rejects_bad_pin_workers_and_crate() {
        for tokens in [quote!(pin_workers = 1), quote!(pin_workers = "true")] {
            let e = err(tokens);
            assert!(e.to_string().contains("`true` or `false`"), "{e}");
        }
        let e = err(quote!(crate = moirai));
        assert!(e.to_string().contains("must be a string literal"), "{e}");
        let e = err(quote!(crate = "not a path"));
        assert!(e.to_string().contains("must be a path"), "{e}");
    }

    /// Errors point at the offending token, not at the whole attribute: checked by parsing real
    /// source text (spans from `quote!` carry no text outside a macro invocation).
    #[test]
    fn errors_point_at_the_offending_token() {
        for (source, offending) in [
            ("worker_threads = 0, pin_workers = true", "0"),
            ("pin_workers = true, worker_threads = \"x\"", "\"x\""),
            ("topology = \"2x\"", "\"2x\""),
            ("pin_workers = 1", "1"),
            ("worker_threads = 2, worker_threads = 3", "worker_threads"),
            ("bogus = 1", "bogus"),
        ] {
            let tokens: TokenStream = source.parse().unwrap();
            let e = err(tokens);
            let text = span_text(e.span());
            // Outside a proc macro, proc_macro2 uses its fallback spans, which know their text.
            assert_eq!(text.as_deref(), Some(offending), "{source}: {e}");
            if source.starts_with("worker_threads = 2") {
                // The *second* occurrence is the duplicate.
                assert!(e.span().start().column > 10, "{source}");
            }
        }
    }
}
