//! Russian company requisites as validated values: OGRN and OGRNIP (with
//! their check digits), KPP, BIK, and bank accounts checked against the BIK
//! with the Bank of Russia's control key. Each `parse` trims spaces, returns
//! the value or the reason in Russian — what a form shows under the field.

fn digits(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_whitespace() && *c != '-').collect()
}

fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// ОГРН of an organisation (13 digits) or ОГРНИП of an entrepreneur (15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ogrn(String);

impl Ogrn {
    /// An ООО's ОГРН: 13 digits, the last = (the first 12 mod 11) mod 10.
    pub fn parse_company(raw: &str) -> Result<Self, &'static str> {
        let s = digits(raw);
        if !all_digits(&s, 13) {
            return Err("ОГРН — 13 цифр");
        }
        let body: u64 = s[..12].parse().map_err(|_| "ОГРН — 13 цифр")?;
        if (body % 11 % 10) as u8 != s.as_bytes()[12] - b'0' {
            return Err("Неверная контрольная цифра ОГРН");
        }
        Ok(Self(s))
    }

    /// An ИП's ОГРНИП: 15 digits, the last = (the first 14 mod 13) mod 10.
    pub fn parse_entrepreneur(raw: &str) -> Result<Self, &'static str> {
        let s = digits(raw);
        if !all_digits(&s, 15) {
            return Err("ОГРНИП — 15 цифр");
        }
        let body: u64 = s[..14].parse().map_err(|_| "ОГРНИП — 15 цифр")?;
        if (body % 13 % 10) as u8 != s.as_bytes()[14] - b'0' {
            return Err("Неверная контрольная цифра ОГРНИП");
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// КПП: 9 characters — 4 digits (tax office), 2 digits or capital Latin
/// letters (reason), 3 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kpp(String);

impl Kpp {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = digits(raw).to_uppercase();
        let b = s.as_bytes();
        let ok = b.len() == 9
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[4..6].iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            && b[6..].iter().all(u8::is_ascii_digit);
        if !ok {
            return Err("КПП — 9 знаков: 4 цифры, 2 цифры или латинские буквы, 3 цифры");
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// БИК of a Russian bank: 9 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bik(String);

impl Bik {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = digits(raw);
        if !all_digits(&s, 9) {
            return Err("БИК — 9 цифр");
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A 20-digit bank account whose control key matches its bank's BIK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount(String);

/// The Bank of Russia's key: the 23 digits (3 from the BIK, then the
/// account) weighted 7, 1, 3, … sum to a multiple of 10.
fn key_holds(prefix: &str, account: &str) -> bool {
    const W: [u32; 3] = [7, 1, 3];
    let sum: u32 = prefix
        .bytes()
        .chain(account.bytes())
        .enumerate()
        .map(|(i, b)| (b - b'0') as u32 * W[i % 3])
        .sum();
    sum.is_multiple_of(10)
}

impl BankAccount {
    /// A settlement account (расчётный счёт) at the bank with `bik`: the key
    /// is taken with the BIK's last three digits.
    pub fn parse_settlement(raw: &str, bik: &Bik) -> Result<Self, &'static str> {
        let s = digits(raw);
        if !all_digits(&s, 20) {
            return Err("Расчётный счёт — 20 цифр");
        }
        if !key_holds(&bik.0[6..], &s) {
            return Err("Расчётный счёт не сходится с БИК: проверьте обе цифры");
        }
        Ok(Self(s))
    }

    /// The bank's correspondent account (корр. счёт, 301…): the key is taken
    /// with «0» and the BIK's fifth and sixth digits.
    pub fn parse_correspondent(raw: &str, bik: &Bik) -> Result<Self, &'static str> {
        let s = digits(raw);
        if !all_digits(&s, 20) {
            return Err("Корреспондентский счёт — 20 цифр");
        }
        if !s.starts_with("301") {
            return Err("Корреспондентский счёт начинается с 301");
        }
        if !key_holds(&format!("0{}", &bik.0[4..6]), &s) {
            return Err("Корреспондентский счёт не сходится с БИК");
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ogrn_and_ogrnip_check_digits() {
        assert!(Ogrn::parse_company("1027700132195").is_ok());
        assert_eq!(
            Ogrn::parse_company("1027700132196"),
            Err("Неверная контрольная цифра ОГРН")
        );
        assert_eq!(Ogrn::parse_company("102770013219"), Err("ОГРН — 13 цифр"));
        assert!(Ogrn::parse_entrepreneur("304500116000157").is_ok());
        assert_eq!(
            Ogrn::parse_entrepreneur("304500116000158"),
            Err("Неверная контрольная цифра ОГРНИП")
        );
    }

    #[test]
    fn kpp_shape() {
        assert_eq!(Kpp::parse("7736 01 001").unwrap().as_str(), "773601001");
        assert!(Kpp::parse("7736AB001").is_ok());
        assert!(Kpp::parse("77360100").is_err());
        assert!(Kpp::parse("7736AБ001").is_err());
    }

    #[test]
    fn accounts_are_checked_against_the_bik() {
        let bik = Bik::parse("044525225").unwrap();
        assert!(BankAccount::parse_correspondent("30101810400000000225", &bik).is_ok());
        assert!(BankAccount::parse_correspondent("30101810400000000226", &bik).is_err());
        assert!(BankAccount::parse_settlement("40702810938000000001", &bik).is_ok());
        assert_eq!(
            BankAccount::parse_settlement("40702810938000000002", &bik),
            Err("Расчётный счёт не сходится с БИК: проверьте обе цифры")
        );
        assert_eq!(
            BankAccount::parse_settlement("4070281093800000000", &bik),
            Err("Расчётный счёт — 20 цифр")
        );
        assert!(Bik::parse("04452522").is_err());
    }
}
