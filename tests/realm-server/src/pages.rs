//! HTML pages: login, registration, errors, logout confirmation, and the iframe pages.
//! Field names and element ids follow Keycloak's login theme so tests can drive them.

use crate::util::html;

const STYLE: &str = "body{font-family:sans-serif;background:#f0f0f0;margin:0}\
.card{max-width:420px;margin:60px auto;background:#fff;padding:24px 32px;border-radius:6px;box-shadow:0 1px 4px #0003}\
label{display:block;margin-top:12px}input[type=text],input[type=password],input[type=email]{width:100%;box-sizing:border-box;padding:6px}\
input[type=submit]{margin-top:18px;padding:8px 16px}.error{color:#c00}#kc-header{color:#555;text-align:center;margin-top:30px}";

pub fn realm_title(realm: &str, display: Option<&str>) -> String {
    display.filter(|d| !d.is_empty()).unwrap_or(realm).to_string()
}

fn layout(realm_title: &str, page_title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"robots\" content=\"noindex, nofollow\">\n\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n<title>Sign in to {rt}</title>\n<style>{STYLE}</style>\n</head>\n\
<body>\n<div id=\"kc-header\"><div id=\"kc-header-wrapper\">{rt}</div></div>\n<div class=\"card\">\n<h1 id=\"kc-page-title\">{pt}</h1>\n{body}\n</div>\n</body>\n</html>\n",
        rt = html(realm_title),
        pt = html(page_title),
    )
}

pub struct LoginPage<'a> {
    pub realm_title: &'a str,
    pub action: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    pub info: Option<&'a str>,
    pub registration_url: Option<&'a str>,
}

pub fn login(p: &LoginPage) -> String {
    let err_attr = if p.error.is_some() { " aria-invalid=\"true\"" } else { "" };
    let error = p
        .error
        .map(|e| format!("<span id=\"input-error\" class=\"error\" aria-live=\"polite\">{}</span>\n", html(e)))
        .unwrap_or_default();
    let info = p
        .info
        .map(|i| format!("<div class=\"alert-info\"><span class=\"kc-feedback-text\">{}</span></div>\n", html(i)))
        .unwrap_or_default();
    let reg = p
        .registration_url
        .map(|u| format!("<div id=\"kc-registration\"><span>New user? <a tabindex=\"6\" href=\"{}\">Register</a></span></div>\n", html(u)))
        .unwrap_or_default();
    let body = format!(
        "{info}<form id=\"kc-form-login\" onsubmit=\"login.disabled = true; return true;\" action=\"{action}\" method=\"post\">\n\
<label for=\"username\">Username or email</label>\n\
<input tabindex=\"1\" id=\"username\" name=\"username\" value=\"{username}\" type=\"text\" autofocus autocomplete=\"username\"{err_attr}>\n\
<label for=\"password\">Password</label>\n\
<input tabindex=\"2\" id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\"{err_attr}>\n\
{error}<input type=\"hidden\" id=\"id-hidden-input\" name=\"credentialId\">\n\
<input tabindex=\"4\" type=\"submit\" id=\"kc-login\" name=\"login\" value=\"Sign In\">\n</form>\n{reg}",
        action = html(p.action),
        username = html(p.username),
    );
    layout(p.realm_title, "Sign in to your account", &body)
}

pub struct RegisterPage<'a> {
    pub realm_title: &'a str,
    pub action: &'a str,
    pub login_url: &'a str,
    pub values: [&'a str; 4], // firstName, lastName, email, username
    pub error: Option<(&'a str, &'a str)>, // (field, message)
    pub email_as_username: bool,
}

pub fn register(p: &RegisterPage) -> String {
    let field_error = |field: &str| -> String {
        match p.error {
            Some((f, m)) if f == field => format!("<span id=\"input-error-{}\" class=\"error\" aria-live=\"polite\">{}</span>\n", html(f), html(m)),
            _ => String::new(),
        }
    };
    let general = match p.error {
        Some(("", m)) => format!("<div class=\"alert-error\"><span class=\"kc-feedback-text\">{}</span></div>\n", html(m)),
        _ => String::new(),
    };
    let input = |id: &str, label: &str, kind: &str, value: &str| {
        format!(
            "<label for=\"{id}\">{label}</label>\n<input type=\"{kind}\" id=\"{id}\" name=\"{id}\" value=\"{}\">\n{}",
            html(value),
            field_error(id)
        )
    };
    let username = if p.email_as_username { String::new() } else { input("username", "Username", "text", p.values[3]) };
    let body = format!(
        "{general}<form id=\"kc-register-form\" action=\"{action}\" method=\"post\">\n{}{}{}{}\
<label for=\"password\">Password</label>\n<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"new-password\">\n{}\
<label for=\"password-confirm\">Confirm password</label>\n<input type=\"password\" id=\"password-confirm\" name=\"password-confirm\">\n{}\
<div id=\"kc-form-options\"><a href=\"{login}\">&laquo; Back to Login</a></div>\n\
<input type=\"submit\" value=\"Register\">\n</form>\n",
        input("firstName", "First name", "text", p.values[0]),
        input("lastName", "Last name", "text", p.values[1]),
        input("email", "Email", "text", p.values[2]),
        username,
        field_error("password"),
        field_error("password-confirm"),
        action = html(p.action),
        login = html(p.login_url),
    );
    layout(p.realm_title, "Register", &body)
}

/// Keycloak's update-password page (`login-update-password`): form `kc-passwd-update-form`
/// with `password-new`, `password-confirm`, the "sign out from other devices" checkbox
/// `logout-sessions` (checked), a submit button and, for an application-initiated action,
/// a cancel button `name="cancel-aia" value="true"`. `error` is (field, message) with the
/// field `password` or `password-confirm`.
pub fn update_password(realm_title: &str, action: &str, error: Option<(&str, &str)>, cancel: bool) -> String {
    let field_error = |field: &str| -> String {
        match error {
            Some((f, m)) if f == field => {
                format!("<span id=\"input-error-{f}\" class=\"error\" aria-live=\"polite\">{}</span>\n", html(m))
            }
            _ => String::new(),
        }
    };
    let invalid = |fields: &[&str]| if error.is_some_and(|(f, _)| fields.contains(&f)) { " aria-invalid=\"true\"" } else { "" };
    let cancel = if cancel {
        "<button type=\"submit\" name=\"cancel-aia\" value=\"true\" formnovalidate>Cancel</button>\n"
    } else {
        ""
    };
    let body = format!(
        "<form id=\"kc-passwd-update-form\" action=\"{action}\" method=\"post\">\n\
<label for=\"password-new\">New Password</label>\n\
<input type=\"password\" id=\"password-new\" name=\"password-new\" autofocus autocomplete=\"new-password\"{}>\n{}\
<label for=\"password-confirm\">Confirm password</label>\n\
<input type=\"password\" id=\"password-confirm\" name=\"password-confirm\" autocomplete=\"new-password\"{}>\n{}\
<div id=\"kc-form-options\"><label><input type=\"checkbox\" id=\"logout-sessions\" name=\"logout-sessions\" value=\"on\" checked> Sign out from other devices</label></div>\n\
<div id=\"kc-form-buttons\">\n<input type=\"submit\" value=\"Submit\">\n{cancel}</div>\n</form>\n",
        invalid(&["password", "password-confirm"]),
        field_error("password"),
        invalid(&["password-confirm"]),
        field_error("password-confirm"),
        action = html(action),
    );
    layout(realm_title, "Update password", &body)
}

pub fn error(realm_title: &str, message: &str) -> String {
    let body = format!(
        "<div id=\"kc-error-message\">\n<p class=\"instruction\">{}</p>\n</div>\n",
        html(message)
    );
    layout(realm_title, "We are sorry...", &body)
}

pub fn info(realm_title: &str, title: &str, message: &str) -> String {
    let body = format!("<div id=\"kc-info-message\">\n<p class=\"instruction\">{}</p>\n</div>\n", html(message));
    layout(realm_title, title, &body)
}

pub fn logout_confirm(realm_title: &str, action: &str, session_code: &str) -> String {
    let body = format!(
        "<div id=\"kc-logout-confirm\" class=\"content-area\">\n<p class=\"instruction\">Do you want to log out?</p>\n\
<form class=\"form-actions\" action=\"{}\" method=\"POST\">\n<input type=\"hidden\" name=\"session_code\" value=\"{}\">\n\
<input tabindex=\"4\" name=\"confirmLogout\" id=\"kc-logout\" type=\"submit\" value=\"Logout\">\n</form>\n</div>\n",
        html(action),
        html(session_code)
    );
    layout(realm_title, "Logging out", &body)
}

pub fn account_console(realm: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Account Management</title></head>\n\
<body><h1>Account Management</h1><p>The test realm server does not ship the account console of realm {}.</p></body></html>\n",
        html(realm)
    )
}

/// form_post response mode: an auto-submitting form.
pub fn form_post(action: &str, params: &[(&str, String)]) -> String {
    let inputs: String = params
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">\n", html(k), html(v)))
        .collect();
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Submit This Form</title></head>\n\
<body onload=\"javascript:document.forms[0].submit()\">\n<noscript><p>JavaScript is disabled. Click Submit to continue.</p></noscript>\n\
<form name=\"content\" action=\"{}\" method=\"post\">\n{inputs}<noscript><input type=\"submit\" value=\"Submit\"></noscript>\n</form>\n</body></html>\n",
        html(action)
    )
}

/// The session status iframe (OIDC session management), following the protocol of
/// Keycloak 26.1+'s `login-status-iframe.ftl`: replies `unchanged`, `changed` or `error` to
/// `"<clientId> <sid>"` messages. Like Keycloak's page it asks the server only once
/// (`/init`, the client and origin check) and otherwise looks at the `KEYCLOAK_SESSION`
/// cookie alone, so a session ended on the server (Admin API logout, a deleted user)
/// still reads `unchanged` while the browser holds the cookie.
pub const LOGIN_STATUS_IFRAME: &str = r#"<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Login status</title></head>
<body>
<script>
(function () {
  'use strict';
  // The client and origin that passed /init. Only one /init is ever sent: a message that
  // arrives after a failed or still pending one is answered `error`, as in Keycloak.
  var verified = null;
  var initSent = false;

  function b64url(bytes) {
    var s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  // Keycloak loads a web-crypto shim on insecure origins; this page has none and answers
  // `error` there instead (every origin the tests use is a secure context).
  function sha256b64url(text) {
    if (!(window.crypto && window.crypto.subtle)) return Promise.reject(new Error('no subtle crypto'));
    return window.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
      .then(function (buf) { return b64url(new Uint8Array(buf)); });
  }

  function sessionCookie() {
    var parts = document.cookie.split(';');
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf('=');
      if (eq < 0) continue;
      if (parts[i].substring(0, eq).trim() !== 'KEYCLOAK_SESSION') continue;
      var v = parts[i].substring(eq + 1).trim();
      if (v.length >= 2 && v.charAt(0) === '"' && v.charAt(v.length - 1) === '"') v = v.substring(1, v.length - 1);
      return v;
    }
    return null;
  }

  // A rejected hasStorageAccess() propagates (no answer at all), a refused request is `false`.
  function storageAccess() {
    if (!('hasStorageAccess' in document)) return Promise.resolve(true);
    return document.hasStorageAccess().then(function (has) {
      if (has) return true;
      return document.requestStorageAccess().then(function () { return true; }, function () { return false; });
    });
  }

  function compare(clientId, origin, sessionState) {
    var cookie = sessionCookie();
    if (!cookie) return sessionState !== '' ? 'changed' : 'unchanged';
    if (clientId !== verified.clientId || origin !== verified.origin) return 'error';
    return sha256b64url(sessionState).then(function (hash) {
      if (hash === cookie) return 'unchanged';
      // The pre-26.1 cookie: realm/user/sessionId.
      return cookie.split('/')[2] === sessionState ? 'unchanged' : 'changed';
    }, function () { return 'error'; });
  }

  // Resolves to the answer; rejects (no answer is sent) where Keycloak's page throws,
  // e.g. when the /init request itself fails.
  function check(clientId, origin, sessionState) {
    return storageAccess().then(function (ok) {
      if (!ok) return 'error';
      if (verified) return compare(clientId, origin, sessionState);
      if (initSent) return 'error';
      initSent = true;
      var url = location.origin + location.pathname + '/init?client_id=' + encodeURIComponent(clientId) +
        '&origin=' + encodeURIComponent(origin);
      return fetch(url).then(function (res) {
        if (!res.ok) return 'error';
        verified = { clientId: clientId, origin: origin };
        return compare(clientId, origin, sessionState);
      });
    });
  }

  window.addEventListener('message', function (event) {
    if (typeof event.data !== 'string') return;
    var parts = event.data.split(' ');
    if (parts.length !== 2) return;
    var source = event.source, origin = event.origin;
    check(parts[0], origin, parts[1]).then(function (answer) { source.postMessage(answer, origin); });
  }, false);
})();
</script>
</body>
</html>
"#;

pub const THIRD_PARTY_STEP1: &str = r#"<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>3rd party cookies check, step 1</title></head>
<body>
<script>
(function () {
  'use strict';
  function hasAccess() {
    if (!document.hasStorageAccess) return Promise.resolve(true);
    return document.hasStorageAccess().then(function (has) {
      if (has || !document.requestStorageAccess) return has;
      return document.requestStorageAccess().then(function () { return true; }, function () { return false; });
    }, function () { return false; });
  }
  hasAccess().then(function (ok) {
    if (!ok) { window.parent.postMessage('unsupported', '*'); return; }
    document.cookie = 'KEYCLOAK_3P_COOKIE_SAMESITE=supported; Max-Age=60; SameSite=None; Secure';
    document.cookie = 'KEYCLOAK_3P_COOKIE=supported; Max-Age=60';
    window.location.href = location.pathname.replace(/step1\.html$/, 'step2.html');
  });
})();
</script>
</body>
</html>
"#;

pub const THIRD_PARTY_STEP2: &str = r#"<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>3rd party cookies check, step 2</title></head>
<body>
<script>
(function () {
  'use strict';
  var supported = /(^|;\s*)KEYCLOAK_3P_COOKIE(_SAMESITE)?=/.test(document.cookie);
  if (supported) {
    document.cookie = 'KEYCLOAK_3P_COOKIE_SAMESITE=; Max-Age=0; SameSite=None; Secure';
    document.cookie = 'KEYCLOAK_3P_COOKIE=; Max-Age=0';
  }
  window.parent.postMessage(supported ? 'supported' : 'unsupported', '*');
})();
</script>
</body>
</html>
"#;
