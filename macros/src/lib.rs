//! Derive macros of [agentsim](https://docs.rs/agentsim): `#[derive(Message)]`
//! and `#[derive(TimerTag)]`. Use them through `agentsim::prelude`, which
//! re-exports them beside the traits of the same names.
//!
//! - `#[derive(Message)]` on an enum: one message kind per variant, named
//!   as the variant (`#[message(kind = "Name")]` on a variant renames it),
//!   in declaration order; on a struct: one kind, the struct's name. The run
//!   hash takes the message through `std::hash::Hash`, or, with
//!   `#[message(hash = "serde")]` on the type, through its serde form (for
//!   types that have `Serialize` but no `Hash`, such as foreign ones).
//! - `#[derive(TimerTag)]` on an enum of unit variants: one timer per
//!   variant, named in snake_case (`CheckQuorum` is `check_quorum`;
//!   `#[timer(name = "x")]` renames one).

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::{parse_macro_input, Data, DeriveInput, Error, Fields, LitStr};

/// Derives `agentsim::node::Message`: see the crate docs.
#[proc_macro_derive(Message, attributes(message))]
pub fn derive_message(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    message(input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// Derives `agentsim::node::TimerTag`: see the crate docs.
#[proc_macro_derive(TimerTag, attributes(timer))]
pub fn derive_timer_tag(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    timer_tag(input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// The string value of `#[NAME(key = "value")]` among `attrs`, if present.
fn attr_value(attrs: &[syn::Attribute], name: &str, key: &str) -> syn::Result<Option<LitStr>> {
    let mut found = None;
    for a in attrs.iter().filter(|a| a.path().is_ident(name)) {
        a.parse_nested_meta(|m| {
            if m.path.is_ident(key) {
                found = Some(m.value()?.parse::<LitStr>()?);
                Ok(())
            } else {
                Err(m.error(format!("unknown key (accepted: {key})")))
            }
        })?;
    }
    Ok(found)
}

fn message(input: DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let name = &input.ident;
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    let hash = match attr_value(&input.attrs, "message", "hash")? {
        None => quote! { ::std::hash::Hash::hash(self, h) },
        Some(v) if v.value() == "std" => quote! { ::std::hash::Hash::hash(self, h) },
        Some(v) if v.value() == "serde" => quote! { ::agentsim::hash::hash_serialized(self, h) },
        Some(v) => {
            return Err(Error::new(
                v.span(),
                "unknown hash (accepted: \"std\", \"serde\")",
            ))
        }
    };
    let (kinds, kind_body) = match &input.data {
        Data::Enum(e) => {
            let mut kinds = Vec::new();
            let mut arms = Vec::new();
            for (i, v) in e.variants.iter().enumerate() {
                let kind = attr_value(&v.attrs, "message", "kind")?
                    .map(|l| l.value())
                    .unwrap_or_else(|| v.ident.to_string());
                kinds.push(LitStr::new(&kind, Span::call_site()));
                let vi = &v.ident;
                arms.push(quote! { Self::#vi { .. } => #i, });
            }
            if arms.is_empty() {
                (kinds, quote! { match *self {} })
            } else {
                (kinds, quote! { match self { #(#arms)* } })
            }
        }
        Data::Struct(_) => (
            vec![LitStr::new(&name.to_string(), Span::call_site())],
            quote! { 0 },
        ),
        Data::Union(_) => {
            return Err(Error::new(
                Span::call_site(),
                "Message can be derived for enums and structs",
            ))
        }
    };
    Ok(quote! {
        impl #impl_g ::agentsim::node::Message for #name #ty_g #where_g {
            const KINDS: &'static [&'static str] = &[#(#kinds),*];
            #[inline]
            fn kind(&self) -> usize {
                #kind_body
            }
            #[inline]
            fn hash_into(&self, h: &mut ::agentsim::hash::RunHasher) {
                #hash
            }
        }
    })
}

/// `CheckQuorum` → `check_quorum`.
fn snake_case(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn timer_tag(input: DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let name = &input.ident;
    let Data::Enum(e) = &input.data else {
        return Err(Error::new(
            Span::call_site(),
            "TimerTag can be derived for enums of unit variants",
        ));
    };
    let mut names = Vec::new();
    let mut idents = Vec::new();
    for v in &e.variants {
        if !matches!(v.fields, Fields::Unit) {
            return Err(Error::new_spanned(
                v,
                "a timer tag is a unit variant (one timer slot per tag)",
            ));
        }
        let n = attr_value(&v.attrs, "timer", "name")?
            .map(|l| l.value())
            .unwrap_or_else(|| snake_case(&v.ident.to_string()));
        names.push(LitStr::new(&n, Span::call_site()));
        idents.push(&v.ident);
    }
    let idx: Vec<usize> = (0..idents.len()).collect();
    let (index, from) = if idents.is_empty() {
        (
            quote! { match self {} },
            quote! { unreachable!("{} has no timers (index {})", stringify!(#name), i) },
        )
    } else {
        (
            quote! { match self { #(Self::#idents => #idx,)* } },
            quote! {
                match i {
                    #(#idx => Self::#idents,)*
                    _ => unreachable!("{} has no timer {}", stringify!(#name), i),
                }
            },
        )
    };
    Ok(quote! {
        impl ::agentsim::node::TimerTag for #name {
            const NAMES: &'static [&'static str] = &[#(#names),*];
            #[inline]
            fn index(self) -> usize {
                #index
            }
            #[inline]
            fn from_index(i: usize) -> Self {
                #from
            }
        }
    })
}
