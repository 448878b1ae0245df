//! Authorization-request parameters that shape the login rather than the protocol:
//! requested ACR values (`claims`, `acr_values`) and the `acr` claim they lead to, and the
//! login pages' locale (`ui_locales`).

use crate::http::{Ctx, Out};
use crate::model::{Client, Realm};
use serde_json::Value;
use std::collections::HashMap;

// ------------------------------------------------------------------ ACR

/// The requested ACR values and whether they are essential.
///
/// * `claims` = `{"id_token":{"acr":{"essential":true,"values":[..]}}}` (or `"value"`):
///   essential values take precedence;
/// * otherwise the non-essential `claims` values, else `acr_values` (space-separated),
///   else the client attribute `default.acr.values` (`##`-separated).
///
/// An unparseable `claims` parameter is ignored (Keycloak only logs it).
pub fn requested_acr(claims: Option<&str>, acr_values: Option<&str>, client: &Client) -> (Vec<String>, bool) {
    let (from_claims, essential) = claims.map(acr_from_claims).unwrap_or_default();
    if !from_claims.is_empty() {
        return (from_claims, essential);
    }
    if let Some(v) = acr_values {
        let list: Vec<String> = v.split_whitespace().map(String::from).collect();
        if !list.is_empty() {
            return (list, false);
        }
    }
    let defaults = client.attr("default.acr.values").unwrap_or("");
    (defaults.split("##").map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect(), false)
}

fn acr_from_claims(claims: &str) -> (Vec<String>, bool) {
    let Ok(v) = serde_json::from_str::<Value>(claims) else {
        return (Vec::new(), false);
    };
    let Some(acr) = v.get("id_token").and_then(|t| t.get("acr")).filter(|a| a.is_object()) else {
        return (Vec::new(), false);
    };
    let essential = acr.get("essential").and_then(Value::as_bool).unwrap_or(false);
    let mut values: Vec<String> = Vec::new();
    if let Some(list) = acr.get("values").and_then(Value::as_array) {
        values.extend(list.iter().filter_map(|x| x.as_str()).map(String::from));
    }
    if let Some(one) = acr.get("value").and_then(Value::as_str) {
        values.push(one.to_string());
    }
    (values, essential)
}

/// The ACR-to-LoA map: the client attribute `acr.loa.map`, else the realm attribute of
/// the same name (JSON objects such as `{"silver":1,"gold":2}`).
pub fn loa_map(realm: &Realm, client: &Client) -> HashMap<String, i64> {
    let parse = |s: &str| -> HashMap<String, i64> {
        serde_json::from_str::<serde_json::Map<String, Value>>(s)
            .map(|m| {
                m.into_iter()
                    .filter_map(|(k, v)| v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())).map(|n| (k, n)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let client_map = client.attr("acr.loa.map").map(parse).unwrap_or_default();
    if !client_map.is_empty() {
        return client_map;
    }
    realm.attributes.get("acr.loa.map").map(|s| parse(s)).unwrap_or_default()
}

/// An essential requested value that is neither mapped nor a number cannot be satisfied:
/// Keycloak rejects the request (`Invalid parameter: claims`). Returns that value.
pub fn unsatisfiable_essential<'a>(values: &'a [String], essential: bool, map: &HashMap<String, i64>) -> Option<&'a str> {
    if !essential {
        return None;
    }
    values.iter().map(String::as_str).find(|v| !map.contains_key(*v) && v.parse::<i64>().is_err())
}

/// The `acr` claim for a login that reached level `loa` (1 = login form, 0 = SSO cookie):
/// the first requested value mapped to that level, else any mapped name of that level,
/// else the level as a number.
pub fn acr_claim(realm: &Realm, client: &Client, requested: &[String], loa: i32) -> String {
    let map = loa_map(realm, client);
    let level = i64::from(loa);
    if let Some(v) = requested.iter().find(|v| map.get(*v) == Some(&level)) {
        return v.clone();
    }
    let mut names: Vec<&String> = map.iter().filter(|(_, l)| **l == level).map(|(k, _)| k).collect();
    names.sort();
    names.first().map(|n| n.to_string()).unwrap_or_else(|| loa.to_string())
}

// ------------------------------------------------------------------ locale

/// The realm's internationalization settings (RealmRepresentation fields
/// `internationalizationEnabled`, `supportedLocales`, `defaultLocale`).
fn i18n(realm: &Realm) -> (bool, Vec<String>, String) {
    let enabled = match realm.extra.get("internationalizationEnabled") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    let default = realm
        .extra
        .get("defaultLocale")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("en")
        .to_string();
    let mut supported: Vec<String> = realm
        .extra
        .get("supportedLocales")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str()).map(String::from).collect())
        .unwrap_or_default();
    if !supported.iter().any(|s| s.eq_ignore_ascii_case(&default)) {
        supported.push(default.clone());
    }
    (enabled, supported, default)
}

/// A supported locale for `tag`: exact (case-insensitive), else its language alone.
fn match_tag(tag: &str, supported: &[String]) -> Option<String> {
    let tag = tag.trim();
    if tag.is_empty() || tag == "*" {
        return None;
    }
    if let Some(s) = supported.iter().find(|s| s.eq_ignore_ascii_case(tag)) {
        return Some(s.clone());
    }
    let lang = tag.split(['-', '_']).next().unwrap_or(tag);
    supported.iter().find(|s| s.eq_ignore_ascii_case(lang)).cloned()
}

/// `Accept-Language` tags, highest quality first (ties keep their order).
fn accept_language(header: &str) -> Vec<String> {
    let mut tags: Vec<(String, f32)> = header
        .split(',')
        .filter_map(|part| {
            let mut it = part.split(';');
            let tag = it.next()?.trim().to_string();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q=").map(|q| q.trim().parse::<f32>().unwrap_or(0.0)))
                .unwrap_or(1.0);
            (!tag.is_empty() && q > 0.0).then_some((tag, q))
        })
        .collect();
    tags.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
    tags.into_iter().map(|(t, _)| t).collect()
}

/// The login pages' locale, as Keycloak selects it when the realm has
/// internationalization enabled: `ui_locales` (first supported tag), then the
/// `KEYCLOAK_LOCALE` cookie, then `Accept-Language`, then the realm default. Disabled:
/// always the default (`en` unless `defaultLocale` says otherwise). The flag is true
/// when the choice came from `ui_locales`.
pub fn select_locale(realm: &Realm, ctx: &Ctx, ui_locales: Option<&str>) -> (String, bool) {
    let (enabled, supported, default) = i18n(realm);
    if !enabled {
        return (default, false);
    }
    if let Some(l) = ui_locales.and_then(|u| u.split_whitespace().find_map(|t| match_tag(t, &supported))) {
        return (l, true);
    }
    if let Some(l) = ctx.cookie("KEYCLOAK_LOCALE").and_then(|c| match_tag(&c, &supported)) {
        return (l, false);
    }
    if let Some(l) = ctx.header("accept-language").and_then(|h| accept_language(h).iter().find_map(|t| match_tag(t, &supported))) {
        return (l, false);
    }
    (default, false)
}

/// Give a login-theme page its locale: `<html lang>`, and the `KEYCLOAK_LOCALE` cookie
/// (HttpOnly, SameSite=Strict, a session cookie) when `ui_locales` chose it.
pub fn localize(mut out: Out, realm: &Realm, ctx: &Ctx, ui_locales: Option<&str>) -> Out {
    let (lang, from_request) = select_locale(realm, ctx, ui_locales);
    let lang_attr = crate::util::html(&lang);
    if let Ok(body) = std::str::from_utf8(&out.body) {
        let replaced = body.replacen("<html lang=\"en\">", &format!("<html lang=\"{lang_attr}\">"), 1);
        out.body = replaced.into_bytes();
    }
    if from_request && lang.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        let secure = if ctx.secure_context() { "; Secure" } else { "" };
        out.headers.push((
            "set-cookie",
            format!("KEYCLOAK_LOCALE={lang}; Version=1; Path=/realms/{}/; SameSite=Strict{secure}; HttpOnly", realm.name),
        ));
    }
    out
}
