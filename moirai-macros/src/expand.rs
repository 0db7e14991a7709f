//! Turning `async fn name() -> T { body }` into a function that runs `body` on a new runtime.
//!
//! ```text
//! #[attrs] vis fn name() -> T {
//!     let body = async move { body };
//!     KRATE::Runtime::builder()
//!         [.worker_threads(N)] [.topology(..)] [.pin_workers(b)] [.affinity(..)]
//!         .build()
//!         .expect("failed to build the Moirai runtime")
//!         .block_on(body)
//! }
//! ```
//!
//! The generated tokens carry the spans of the user's code (the body's braces, the argument
//! literals), so type errors point there rather than at the attribute.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ItemFn;

use crate::args::{self, Args};

/// Which attribute is being expanded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// `#[moirai::main]`.
    Main,
    /// `#[moirai::test]`.
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "moirai::main",
            Kind::Test => "moirai::test",
        }
    }
}

/// Expands the attribute, turning every problem into a `compile_error!` at the offending token.
///
/// On an error the function is still emitted, made synchronous and with an `unimplemented!()`
/// body, so that the user sees the one error that matters rather than knock-on ones (such as
/// "`main` function not found").
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new(
                Span::call_site(),
                format!("#[{}] can only be applied to an `async fn`", kind.name()),
            );
            let mut out = error.to_compile_error();
            out.extend(item);
            return out;
        }
    };
    match args::parse(args).and_then(|args| generate(kind, &args, function.clone())) {
        Ok(tokens) => tokens,
        Err(error) => {
            let mut out = error.to_compile_error();
            out.extend(placeholder(kind, function));
            out
        }
    }
}

/// The function with its problems removed, so that only the macro's error is reported.
fn placeholder(kind: Kind, mut function: ItemFn) -> TokenStream {
    function.sig.asyncness = None;
    function.sig.inputs.clear();
    function.sig.generics = syn::Generics::default();
    function.block = Box::new(syn::parse_quote!({ ::core::unimplemented!() }));
    if kind == Kind::Test {
        function.attrs.push(syn::parse_quote!(#[allow(dead_code)]));
    }
    function.into_token_stream()
}

fn generate(kind: Kind, args: &Args, function: ItemFn) -> syn::Result<TokenStream> {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = function;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            sig.fn_token,
            format!(
                "#[{}] needs an `async fn`: the `async` keyword is missing",
                kind.name()
            ),
        ));
    }
    if !sig.inputs.is_empty() {
        let what = match kind {
            Kind::Main => "the main function",
            Kind::Test => "a test function",
        };
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            format!("{what} cannot take parameters"),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            format!("#[{}] functions cannot be generic", kind.name()),
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new_spanned(
            variadic,
            format!("#[{}] functions cannot be variadic", kind.name()),
        ));
    }
    if kind == Kind::Test {
        if let Some(test) = attrs.iter().find(|a| a.path().is_ident("test")) {
            return Err(syn::Error::new_spanned(
                test,
                "#[moirai::test] already adds #[test]; remove this one",
            ));
        }
    }

    let krate = args
        .krate
        .as_ref()
        .map_or_else(|| quote!(::moirai), ToTokens::to_token_stream);
    let mut configure = TokenStream::new();
    if let Some((n, span)) = args.worker_threads {
        let mut lit = Literal::usize_unsuffixed(n);
        lit.set_span(span);
        configure.extend(quote_spanned!(span=> .worker_threads(#lit)));
    }
    if let Some(spec) = &args.topology {
        configure.extend(quote_spanned!(spec.span()=>
            .topology(
                <#krate::topology::Topology as ::core::str::FromStr>::from_str(#spec)
                    .expect("topology spec validated at compile time")
            )
        ));
    }
    if let Some(pin) = &args.pin_workers {
        configure.extend(quote_spanned!(pin.span()=> .pin_workers(#pin)));
    }
    if let Some((variant, span)) = args.affinity {
        let variant = syn::Ident::new(variant, span);
        configure.extend(quote_spanned!(span=> .affinity(#krate::Affinity::#variant)));
    }

    let test_attr = match kind {
        Kind::Main => TokenStream::new(),
        Kind::Test => quote!(#[::core::prelude::v1::test]),
    };
    let mut sig = sig;
    sig.asyncness = None;
    let body_span = block.brace_token.span.join();
    let body_var = syn::Ident::new("body", Span::mixed_site());
    let run = quote_spanned! {body_span=>
        let #body_var = async move #block;
        #krate::Runtime::builder()
            #configure
            .build()
            .expect("failed to build the Moirai runtime")
            .block_on(#body_var)
    };
    Ok(quote! {
        #test_attr
        #(#attrs)*
        #vis #sig {
            #run
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(kind: Kind, args: TokenStream, item: TokenStream) -> String {
        expand(kind, args, item).to_string()
    }

    fn normalized(tokens: TokenStream) -> String {
        tokens.to_string()
    }

    #[test]
    fn expands_main_with_all_arguments() {
        let out = expanded(
            Kind::Main,
            quote!(worker_threads = 3, topology = "2x4", pin_workers = true),
            quote!(
                #[allow(unused)]
                pub async fn start() -> Result<(), String> {
                    Ok(())
                }
            ),
        );
        let expected = normalized(quote! {
            #[allow(unused)]
            pub fn start() -> Result<(), String> {
                let body = async move { Ok(()) };
                ::moirai::Runtime::builder()
                    .worker_threads(3)
                    .topology(
                        <::moirai::topology::Topology as ::core::str::FromStr>::from_str("2x4")
                            .expect("topology spec validated at compile time")
                    )
                    .pin_workers(true)
                    .build()
                    .expect("failed to build the Moirai runtime")
                    .block_on(body)
            }
        });
        assert_eq!(out, expected);
    }

    #[test]
    fn expands_affinity_to_the_variant_of_the_crate_named() {
        let out = expanded(
            Kind::Main,
            quote!(affinity = "node", crate = "crate::rt"),
            quote!(
                async fn start() {}
            ),
        );
        let expected = normalized(quote! {
            fn start() {
                let body = async move {};
                crate::rt::Runtime::builder()
                    .affinity(crate::rt::Affinity::Node)
                    .build()
                    .expect("failed to build the Moirai runtime")
                    .block_on(body)
            }
        });
        assert_eq!(out, expected);
    }

    #[test]
    fn expands_test_with_a_custom_crate_path() {
        let out = expanded(
            Kind::Test,
            quote!(crate = "crate::rt"),
            quote!(
                #[should_panic(expected = "boom")]
                async fn it_panics() {
                    panic!("boom")
                }
            ),
        );
        let expected = normalized(quote! {
            #[::core::prelude::v1::test]
            #[should_panic(expected = "boom")]
            fn it_panics() {
                let body = async move { panic!("boom") };
                crate::rt::Runtime::builder()
                    .build()
                    .expect("failed to build the Moirai runtime")
                    .block_on(body)
            }
        });
        assert_eq!(out, expected);
    }

    fn error_of(kind: Kind, args: TokenStream, item: TokenStream) -> String {
        let out = expanded(kind, args, item);
        assert!(out.contains("compile_error"), "{out}");
        out
    }

    #[test]
    fn reports_misuse_and_still_emits_a_plain_function() {
        let out = error_of(
            Kind::Main,
            quote!(),
            quote!(
                fn main() {}
            ),
        );
        assert!(out.contains("the `async` keyword is missing"), "{out}");
        assert!(out.contains("fn main ()"), "{out}");

        let out = error_of(
            Kind::Main,
            quote!(),
            quote!(
                async fn main(x: u8) {}
            ),
        );
        assert!(out.contains("cannot take parameters"), "{out}");
        // The placeholder drops the parameters and the `async`.
        assert!(
            out.contains("fn main () { :: core :: unimplemented ! () }"),
            "{out}"
        );

        let out = error_of(
            Kind::Test,
            quote!(),
            quote!(
                async fn t(x: u8) {}
            ),
        );
        assert!(
            out.contains("a test function cannot take parameters"),
            "{out}"
        );

        let out = error_of(
            Kind::Main,
            quote!(),
            quote!(
                async fn main<T>() {}
            ),
        );
        assert!(out.contains("cannot be generic"), "{out}");

        let out = error_of(
            Kind::Test,
            quote!(),
            quote!(
                #[test]
                async fn t() {}
            ),
        );
        assert!(out.contains("already adds #[test]"), "{out}");

        let out = error_of(
            Kind::Main,
            quote!(bogus = 1),
            quote!(
                async fn main() {}
            ),
        );
        assert!(out.contains("unknown argument `bogus`"), "{out}");

        let out = error_of(
            Kind::Main,
            quote!(),
            quote!(
                struct S;
            ),
        );
        assert!(
            out.contains("can only be applied to an `async fn`"),
            "{out}"
        );
        assert!(out.contains("struct S"), "{out}");
    }
}
