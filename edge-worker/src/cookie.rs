//! The session cookie: building `Set-Cookie` values and reading the cookie back
//! (RFC 6265 sections 4.1 and 5.4).

/// Cookie settings taken from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieSettings {
    /// Cookie name, `COOKIE_NAME`.
    pub name: String,
    /// Whether to add `Secure`, `COOKIE_SECURE`. Only local plain-http runs turn it off.
    pub secure: bool,
}

impl CookieSettings {
    /// Builds the `Set-Cookie` value that stores `jwt` for `max_age` seconds.
    pub fn session(&self, jwt: &str, max_age: u64) -> String {
        self.build(jwt, max_age)
    }

    /// Builds the `Set-Cookie` value that makes the browser drop the cookie.
    pub fn clear(&self) -> String {
        self.build("", 0)
    }

    fn build(&self, value: &str, max_age: u64) -> String {
        let mut cookie = format!(
            "{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax",
            self.name, value, max_age
        );
        if self.secure {
            cookie.push_str("; Secure");
        }
        cookie
    }
}

/// Returns the value of the cookie `name` in a `Cookie` request header, if present.
/// The first occurrence wins, as browsers send the most specific path first.
pub fn read<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key.trim() == name).then(|| value.trim().trim_matches('"'))
    })
}

/// Returns whether `name` may be used as a cookie name: a non-empty RFC 7230 token.
pub fn is_valid_name(name: &str) -> bool {
    const SEPARATORS: &str = "()<>@,;:\\\"/[]?={} \t";
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_graphic() && !SEPARATORS.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(secure: bool) -> CookieSettings {
        CookieSettings {
            name: "session".to_owned(),
            secure,
        }
    }

    #[test]
    fn session_cookie_has_all_attributes() {
        let cookie = settings(true).session("a.b.c", 3600);
        assert_eq!(
            cookie,
            "session=a.b.c; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn insecure_cookie_omits_secure() {
        let cookie = settings(false).session("a.b.c", 60);
        assert!(!cookie.contains("Secure"), "{cookie}");
    }

    #[test]
    fn clear_cookie_expires_immediately() {
        let cookie = settings(true).clear();
        assert_eq!(
            cookie,
            "session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn read_table() {
        let cases = [
            ("session=abc", Some("abc")),
            ("a=1; session=abc; b=2", Some("abc")),
            ("a=1;session=abc", Some("abc")),
            ("session=\"abc\"", Some("abc")),
            ("session=first; session=second", Some("first")),
            ("sessions=abc", None),
            ("other=session", None),
            ("", None),
            ("malformed; session", None),
        ];
        for (header, expected) in cases {
            assert_eq!(read(header, "session"), expected, "header {header:?}");
        }
    }

    #[test]
    fn cookie_name_validation() {
        assert!(is_valid_name("__Host-session"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("has space"));
        assert!(!is_valid_name("semi;colon"));
        assert!(!is_valid_name("eq=ual"));
    }
}
