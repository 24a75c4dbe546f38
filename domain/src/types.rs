//! Validated value types. Each `parse` returns a Russian message on failure.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use strum::{EnumIter, IntoEnumIterator};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err("Укажите email");
        }
        if s.len() > 254 || s.chars().any(char::is_whitespace) {
            return Err("Некорректный email");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err("Некорректный email");
        };
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err("Некорректный email");
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number normalised to E.164 (`+79991234567`). Russian numbers may
/// be written as 8…, 7…, +7…, with spaces, brackets and dashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("Укажите телефон");
        }
        let digits: String = trimmed.chars().filter(|c| c.is_ascii_digit()).collect();
        // Russian habits: 8XXXXXXXXXX and 7XXXXXXXXXX without a plus, or ten bare digits.
        let candidate = if !trimmed.starts_with('+') && digits.len() == 11 && digits.starts_with('8') {
            format!("+7{}", &digits[1..])
        } else if !trimmed.starts_with('+') && digits.len() == 11 && digits.starts_with('7') {
            format!("+{digits}")
        } else if !trimmed.starts_with('+') && digits.len() == 10 {
            format!("+7{digits}")
        } else {
            trimmed.to_string()
        };
        let number = phonenumber::parse(Some(phonenumber::country::Id::RU), &candidate)
            .map_err(|_| "Некорректный номер телефона")?;
        if !phonenumber::is_valid(&number) {
            return Err("Некорректный номер телефона");
        }
        Ok(Self(number.format().mode(phonenumber::Mode::E164).to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Russian taxpayer number: 10 digits (organisation) or 12 (individual,
/// sole trader), with checksum digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inn(String);

impl Inn {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if s.is_empty() {
            return Err("Укажите ИНН");
        }
        if !s.chars().all(|c| c.is_ascii_digit()) || !(s.len() == 10 || s.len() == 12) {
            return Err("ИНН состоит из 10 или 12 цифр");
        }
        let d: Vec<u32> = s.chars().map(|c| c.to_digit(10).unwrap_or(0)).collect();
        let check = |weights: &[u32]| -> u32 {
            let sum: u32 = weights.iter().zip(d.iter()).map(|(w, x)| w * x).sum();
            (sum % 11) % 10
        };
        let ok = if d.len() == 10 {
            check(&[2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[9]
        } else {
            check(&[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[10] && check(&[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[11]
        };
        if !ok {
            return Err("Неверная контрольная сумма ИНН");
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An amount in rubles, kept as kopecks: signed (a refund, a debit), with
/// checked arithmetic — an overflow is an error, never a wrap. Typed amounts
/// (`parse`) are "1 500 000", "1500000,50", "1 500 000 ₽", "1.5"; never
/// floats inside.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Money(i64);

impl Money {
    pub fn from_kopecks(k: i64) -> Self {
        Self(k)
    }
    pub fn kopecks(self) -> i64 {
        self.0
    }
    pub const ZERO: Money = Money(0);
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }
    pub fn checked_neg(self) -> Option<Money> {
        self.0.checked_neg().map(Money)
    }
    /// A typed amount that may be negative («-1 500», «−1 500,50»), for
    /// adjustments; `parse` (amounts of deals, prices) refuses a sign.
    pub fn parse_signed(raw: &str) -> Result<Self, &'static str> {
        let t = raw.trim();
        match t.strip_prefix('-').or_else(|| t.strip_prefix('−')) {
            Some(rest) => Self::parse(rest).map(|m| Money(-m.0)),
            None => Self::parse(t),
        }
    }
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let cleaned: String = raw
            .trim()
            .trim_end_matches('₽')
            .trim_end_matches("руб.")
            .trim_end_matches("руб")
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}')
            .collect();
        if cleaned.is_empty() {
            return Err("Укажите сумму");
        }
        let cleaned = cleaned.replace(',', ".");
        let (rub, kop) = match cleaned.split_once('.') {
            Some((r, k)) => (r, k),
            None => (cleaned.as_str(), ""),
        };
        if rub.is_empty()
            || !rub.chars().all(|c| c.is_ascii_digit())
            || !kop.chars().all(|c| c.is_ascii_digit())
            || kop.len() > 2
        {
            return Err("Сумма — число рублей, например 1 500 000");
        }
        let rub: i64 = rub.parse().map_err(|_| "Слишком большая сумма")?;
        let kop: i64 = format!("{kop:0<2}").parse().unwrap_or(0);
        rub.checked_mul(100)
            .and_then(|r| r.checked_add(kop))
            .filter(|v| *v <= 100_000_000_000_000)
            .map(Self)
            .ok_or("Слишком большая сумма")
    }
    /// What a form's amount field holds: "1500000" or "1500000,50" — parses
    /// back to exactly the same kopecks, so saving a form never rounds.
    pub fn to_input(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (rub, kop) = (abs / 100, abs % 100);
        if kop == 0 {
            format!("{sign}{rub}")
        } else {
            format!("{sign}{rub},{kop:02}")
        }
    }

    /// "1 500 000 ₽" (kopecks shown only when present).
    pub fn format(self) -> String {
        let abs = self.0.unsigned_abs();
        let (rub, kop) = (abs / 100, abs % 100);
        let mut out = String::new();
        if self.0 < 0 {
            out.push('−');
        }
        out.push_str(&group_digits(rub));
        if kop != 0 {
            out.push_str(&format!(",{kop:02}"));
        }
        out.push_str("\u{a0}₽");
        out
    }
}

/// «1 234 567»: thousands apart by non-breaking spaces, as amounts print.
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    out
}

/// A stored phone as people read it: `+79161234567` → `+7 (916) 123-45-67`.
/// Anything else (a masked or foreign number) is shown as it is.
pub fn format_phone(p: &str) -> String {
    let d = p.strip_prefix("+7").unwrap_or("");
    if d.len() != 10 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return p.to_string();
    }
    format!("+7 ({}) {}-{}-{}", &d[0..3], &d[3..6], &d[6..8], &d[8..10])
}

/// Longest texts people type, in characters: names and titles, short
/// free text (a city, a niche), long free text (comments, descriptions).
pub const MAX_NAME: usize = 200;
pub const MAX_SHORT: usize = 100;
pub const MAX_LONG: usize = 5000;

/// Free text as a person typed it: at most `max` characters and no control
/// characters other than line breaks and tabs (PostgreSQL refuses NUL, and
/// nobody types the others). The message is for the form field.
/// Text made safe inside HTML, in elements and in quoted attributes.
pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn check_text(value: &str, max: usize) -> Result<(), String> {
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("Текст содержит недопустимые символы".into());
    }
    if value.trim().chars().count() > max {
        return Err(format!("Не длиннее {max} символов"));
    }
    Ok(())
}

/// A password that satisfies the policy; never printed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let n = raw.chars().count();
        if n < 8 {
            return Err("Пароль должен быть не короче 8 символов");
        }
        if n > 128 {
            return Err("Пароль слишком длинный");
        }
        Ok(Self(raw.to_string()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, EnumIter)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $s),+ }
            }
            pub fn all() -> Vec<Self> {
                Self::iter().collect()
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($s => Ok(Self::$variant),)+ other => Err(format!("unknown {}: {other}", stringify!($name))) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// A user's role; the permission matrix is keyed on it.
    Role { Admin => "admin", Employee => "employee", Partner => "partner", Franchisee => "franchisee", Guest => "guest" }
);

string_enum!(
    /// What a permission is about.
    Resource { Users => "users", Leads => "leads", Clients => "clients", Auction => "auction", Settlements => "settlements", Reports => "reports", Telegram => "telegram", Inbox => "inbox", Broadcasts => "broadcasts", Outreach => "outreach", Settings => "settings", Audit => "audit" }
);

string_enum!(
    /// What is done to a resource. Besides the usual five, the acts that
    /// carry their own weight get their own right rather than meaning
    /// "edit": approving registrations, sending messages, bidding in the
    /// auction, settling with partners and franchisees.
    Action { View => "view", Create => "create", Edit => "edit", Delete => "delete", Export => "export", Import => "import", Approve => "approve", Send => "send", Bid => "bid", Settle => "settle" }
);

impl Resource {
    /// The actions the matrix has for this resource (the editor shows
    /// these; `Operation::permission` only asks for these).
    pub fn actions(self) -> &'static [Action] {
        use Action::*;
        match self {
            Resource::Users => &[View, Create, Edit, Approve, Export],
            Resource::Leads => &[View, Create, Edit, Delete, Export, Import],
            Resource::Clients => &[View, Edit],
            Resource::Auction => &[View, Bid, Edit],
            Resource::Settlements => &[View, Settle],
            Resource::Reports => &[View, Create, Export],
            Resource::Telegram => &[View, Create, Edit, Delete, Send],
            Resource::Inbox => &[View, Send],
            Resource::Broadcasts => &[View, Create, Send, Approve, Export],
            Resource::Outreach => &[View, Edit, Send, Export],
            Resource::Settings => &[View, Edit],
            Resource::Audit => &[View],
        }
    }
}

string_enum!(
    /// How far a permission reaches: nothing, the user's own records, their
    /// team's, or everything.
    Scope { None => "none", Own => "own", Team => "team", All => "all" }
);

string_enum!(
    /// Legal form from the registration questionnaire.
    LegalForm { Ip => "ip", Ooo => "ooo", SelfEmployed => "self_employed", Individual => "individual" }
);

string_enum!(
    /// Registration / account state.
    UserStatus { Active => "active", Pending => "pending", Rejected => "rejected" }
);

impl Role {
    /// Seniority for granting roles: nobody grants, invites or manages a role
    /// above their own, whatever the matrix says.
    pub fn rank(self) -> u8 {
        match self {
            Role::Admin => 3,
            Role::Employee => 2,
            Role::Partner | Role::Franchisee => 1,
            Role::Guest => 0,
        }
    }

    /// HQ staff (as opposed to partners, franchisees and guests).
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Admin | Role::Employee)
    }

    pub fn label_ru(self) -> &'static str {
        match self {
            Role::Admin => "Администратор",
            Role::Employee => "Сотрудник",
            Role::Partner => "Партнёр",
            Role::Franchisee => "Франчайзи",
            Role::Guest => "Гость",
        }
    }
}

impl LegalForm {
    pub fn label_ru(self) -> &'static str {
        match self {
            LegalForm::Ip => "ИП",
            LegalForm::Ooo => "ООО",
            LegalForm::SelfEmployed => "Самозанятый",
            LegalForm::Individual => "Физлицо",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lowercased() {
        assert_eq!(Email::parse("  Ivan@Example.RU ").unwrap().as_str(), "ivan@example.ru");
    }

    #[test]
    fn email_without_domain_dot_is_rejected() {
        assert!(Email::parse("ivan@localhost").is_err());
        assert!(Email::parse("ivan").is_err());
        assert!(Email::parse("a b@x.ru").is_err());
        assert!(Email::parse("").is_err());
    }

    #[test]
    fn russian_phone_formats_normalise_to_the_same_e164() {
        let expected = "+79991234567";
        for raw in [
            "+7 (999) 123-45-67",
            "8 999 123 45 67",
            "79991234567",
            "9991234567",
            "8(999)1234567",
        ] {
            assert_eq!(Phone::parse(raw).unwrap().as_str(), expected, "{raw}");
        }
    }

    #[test]
    fn nonsense_phone_is_rejected() {
        assert!(Phone::parse("12345").is_err());
        assert!(Phone::parse("телефон").is_err());
        assert!(Phone::parse("").is_err());
    }

    #[test]
    fn inn_checksums_are_verified() {
        assert!(Inn::parse("7707083893").is_ok());
        assert!(Inn::parse("7707083894").is_err());
        assert!(Inn::parse("500100732259").is_ok());
        assert!(Inn::parse("500100732258").is_err());
        assert!(Inn::parse("12345").is_err());
        assert!(Inn::parse("77070838ab").is_err());
    }

    #[test]
    fn money_parses_russian_habits_into_kopecks() {
        assert_eq!(Money::parse("1 500 000").unwrap().kopecks(), 150_000_000);
        assert_eq!(Money::parse("1500000,5").unwrap().kopecks(), 150_000_050);
        assert_eq!(Money::parse("99.99 ₽").unwrap().kopecks(), 9_999);
        assert_eq!(Money::parse("2\u{a0}000 руб.").unwrap().kopecks(), 200_000);
        assert!(Money::parse("-5").is_err());
        assert_eq!(Money::parse_signed("-1 500,5").unwrap().kopecks(), -150_050);
        assert_eq!(Money::parse_signed("−2").unwrap().format(), "−2\u{a0}₽");
        assert_eq!(Money::from_kopecks(-150_050).to_input(), "-1500,50");
        assert_eq!(
            Money::parse_signed(&Money::from_kopecks(-7).to_input())
                .unwrap()
                .kopecks(),
            -7
        );
        assert_eq!(Money::from_kopecks(i64::MAX).checked_add(Money::from_kopecks(1)), None);
        assert_eq!(Money::from_kopecks(i64::MIN).checked_neg(), None);
        assert!(Money::parse("1,234").is_err());
        assert!(Money::parse("abc").is_err());
        assert!(Money::parse("").is_err());
        assert_eq!(
            Money::from_kopecks(150_000_050).format(),
            "1\u{a0}500\u{a0}000,50\u{a0}₽"
        );
    }

    #[test]
    fn money_input_form_round_trips_to_the_kopeck() {
        for k in [0, 5, 50, 99, 100, 150_000_050, 150_000_000, 100_000_000_000_000] {
            let m = Money::from_kopecks(k);
            assert_eq!(Money::parse(&m.to_input()).unwrap(), m, "{k}");
        }
        assert_eq!(Money::from_kopecks(150_000_050).to_input(), "1500000,50");
        assert_eq!(Money::from_kopecks(150_000_000).to_input(), "1500000");
    }

    #[test]
    fn phones_read_as_people_write_them() {
        assert_eq!(format_phone("+79161234567"), "+7 (916) 123-45-67");
        assert_eq!(format_phone("+7916*****67"), "+7916*****67");
        assert_eq!(format_phone(""), "");
        assert_eq!(
            Phone::parse(&format_phone("+79161234567")).unwrap().as_str(),
            "+79161234567"
        );
    }

    #[test]
    fn free_text_is_bounded_and_has_no_control_characters() {
        assert!(check_text("Иванов Иван", MAX_NAME).is_ok());
        assert!(check_text("строка\nещё\tстрока", MAX_LONG).is_ok());
        assert_eq!(
            check_text(&"я".repeat(201), MAX_NAME).unwrap_err(),
            "Не длиннее 200 символов"
        );
        assert!(check_text(&"я".repeat(200), MAX_NAME).is_ok());
        assert!(check_text("a\u{0}b", MAX_NAME).is_err());
        assert!(check_text("a\u{7}b", MAX_NAME).is_err());
    }

    #[test]
    fn short_password_is_rejected() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
    }

    #[test]
    fn enums_round_trip_through_strings() {
        for r in Role::all() {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        for r in Resource::all() {
            assert_eq!(r.as_str().parse::<Resource>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
