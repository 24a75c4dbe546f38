//! A company card as typed → a card that documents can be printed from, or
//! every field's reason in Russian. What is required follows the legal form:
//! an ООО has an ОГРН, a КПП and a signatory; an ИП an ОГРНИП; a
//! самозанятый or an individual only an ИНН of 12 digits. Bank details are
//! all or nothing, and the accounts must agree with the BIK.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use strum::{EnumIter, IntoEnumIterator};

use super::CardInput;
use crate::accounts::FieldError;
use crate::requisites::{BankAccount, Bik, Kpp, Ogrn};
use crate::types::{check_text, Email, Inn, LegalForm, Phone};

crate::types::string_enum!(
    /// On what grounds the signatory signs.
    SigningBasis { Charter => "charter", PowerOfAttorney => "power_of_attorney" }
);

crate::types::string_enum!(
    /// The tax regime, which decides the VAT line of an act.
    TaxRegime { Vat => "vat", Usn => "usn", Npd => "npd", None => "none" }
);

impl SigningBasis {
    pub fn label_ru(self) -> &'static str {
        match self {
            Self::Charter => "Устав",
            Self::PowerOfAttorney => "Доверенность",
        }
    }
}

impl TaxRegime {
    pub fn label_ru(self) -> &'static str {
        match self {
            Self::Vat => "ОСНО, с НДС",
            Self::Usn => "УСН, без НДС",
            Self::Npd => "НПД (самозанятый)",
            Self::None => "Физлицо, без НДС",
        }
    }

    /// The regimes a legal form may have.
    pub fn allowed(form: LegalForm) -> &'static [TaxRegime] {
        match form {
            LegalForm::Ooo | LegalForm::Ip => &[TaxRegime::Vat, TaxRegime::Usn],
            LegalForm::SelfEmployed => &[TaxRegime::Npd],
            LegalForm::Individual => &[TaxRegime::None],
        }
    }
}

/// A card that passed every check, normalised (digits only, trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidCard {
    pub legal_form: LegalForm,
    pub name: String,
    pub inn: Option<String>,
    pub ogrn: Option<String>,
    pub kpp: Option<String>,
    pub legal_address: String,
    pub postal_address: String,
    pub bank_name: String,
    pub bik: Option<String>,
    pub settlement_account: Option<String>,
    pub correspondent_account: Option<String>,
    pub signatory: String,
    pub signatory_basis: SigningBasis,
    pub attorney: String,
    pub tax_regime: TaxRegime,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
}

const NAME: usize = 200;
const ADDRESS: usize = 500;

pub fn validate_card(input: &CardInput) -> Result<ValidCard, Vec<FieldError>> {
    let mut errors = vec![];
    let mut bad = |field: &str, message: &str| errors.push(FieldError::new(field, message));
    let text = |v: &str| v.trim().to_string();
    let opt = |v: &str| Some(v.trim()).filter(|v| !v.is_empty()).map(str::to_string);

    let form = match input.legal_form.parse::<LegalForm>() {
        Ok(f) => f,
        Err(_) => {
            bad("legal_form", "Выберите форму: ИП, ООО, самозанятый или физлицо");
            LegalForm::Individual
        }
    };
    let name = text(&input.name);
    if name.is_empty() {
        bad("name", "Укажите название или ФИО");
    } else if let Err(m) = check_text(&name, NAME) {
        bad("name", &m);
    }

    // ИНН: 10 digits for an ООО, 12 for a person; optional only for an
    // individual without one.
    let inn = match opt(&input.inn) {
        None if form == LegalForm::Individual => None,
        None => {
            bad("inn", "Укажите ИНН");
            None
        }
        Some(raw) => match Inn::parse(&raw) {
            Err(m) => {
                bad("inn", m);
                None
            }
            Ok(inn) if form == LegalForm::Ooo && inn.as_str().len() != 10 => {
                bad("inn", "ИНН организации — 10 цифр");
                None
            }
            Ok(inn) if form != LegalForm::Ooo && inn.as_str().len() != 12 => {
                bad("inn", "ИНН физического лица и ИП — 12 цифр");
                None
            }
            Ok(inn) => Some(inn.as_str().to_string()),
        },
    };

    let ogrn = match (form, opt(&input.ogrn)) {
        (LegalForm::Ooo, None) => {
            bad("ogrn", "Укажите ОГРН");
            None
        }
        (LegalForm::Ip, None) => {
            bad("ogrn", "Укажите ОГРНИП");
            None
        }
        (LegalForm::Ooo, Some(raw)) => Ogrn::parse_company(&raw)
            .map_err(|m| bad("ogrn", m))
            .ok()
            .map(|o| o.as_str().to_string()),
        (LegalForm::Ip, Some(raw)) => Ogrn::parse_entrepreneur(&raw)
            .map_err(|m| bad("ogrn", m))
            .ok()
            .map(|o| o.as_str().to_string()),
        (_, Some(_)) => {
            bad("ogrn", "ОГРН бывает только у ООО и ИП");
            None
        }
        (_, None) => None,
    };

    let kpp = match (form, opt(&input.kpp)) {
        (LegalForm::Ooo, None) => {
            bad("kpp", "Укажите КПП");
            None
        }
        (LegalForm::Ooo, Some(raw)) => Kpp::parse(&raw)
            .map_err(|m| bad("kpp", m))
            .ok()
            .map(|k| k.as_str().to_string()),
        (_, Some(_)) => {
            bad("kpp", "КПП бывает только у организации");
            None
        }
        (_, None) => None,
    };

    let legal_address = text(&input.legal_address);
    let postal_address = text(&input.postal_address);
    if matches!(form, LegalForm::Ooo | LegalForm::Ip) && legal_address.is_empty() {
        bad("legal_address", "Укажите юридический адрес");
    }
    for (field, v) in [("legal_address", &legal_address), ("postal_address", &postal_address)] {
        if let Err(m) = check_text(v, ADDRESS) {
            bad(field, &m);
        }
    }

    // Bank: all or nothing; the accounts must agree with the BIK.
    let bank_name = text(&input.bank_name);
    let (bik_raw, acc_raw, corr_raw) = (
        opt(&input.bik),
        opt(&input.settlement_account),
        opt(&input.correspondent_account),
    );
    let any_bank = !bank_name.is_empty() || bik_raw.is_some() || acc_raw.is_some() || corr_raw.is_some();
    let (mut bik, mut account, mut corr) = (None, None, None);
    if any_bank {
        if bank_name.is_empty() {
            bad("bank_name", "Укажите банк");
        } else if let Err(m) = check_text(&bank_name, NAME) {
            bad("bank_name", &m);
        }
        match bik_raw.as_deref().map(Bik::parse) {
            None => bad("bik", "Укажите БИК"),
            Some(Err(m)) => bad("bik", m),
            Some(Ok(b)) => {
                match acc_raw.as_deref().map(|a| BankAccount::parse_settlement(a, &b)) {
                    None => bad("settlement_account", "Укажите расчётный счёт"),
                    Some(Err(m)) => bad("settlement_account", m),
                    Some(Ok(a)) => account = Some(a.as_str().to_string()),
                }
                match corr_raw.as_deref().map(|c| BankAccount::parse_correspondent(c, &b)) {
                    None => bad("correspondent_account", "Укажите корреспондентский счёт"),
                    Some(Err(m)) => bad("correspondent_account", m),
                    Some(Ok(c)) => corr = Some(c.as_str().to_string()),
                }
                bik = Some(b.as_str().to_string());
            }
        }
    }

    let signatory = text(&input.signatory);
    if form == LegalForm::Ooo && signatory.is_empty() {
        bad("signatory", "Укажите, кто подписывает документы (должность и ФИО)");
    } else if let Err(m) = check_text(&signatory, NAME) {
        bad("signatory", &m);
    }
    let basis = input
        .signatory_basis
        .parse::<SigningBasis>()
        .unwrap_or(SigningBasis::Charter);
    let attorney = text(&input.attorney);
    if basis == SigningBasis::PowerOfAttorney && attorney.is_empty() {
        bad("attorney", "Укажите номер и дату доверенности");
    } else if let Err(m) = check_text(&attorney, NAME) {
        bad("attorney", &m);
    }

    let allowed = TaxRegime::allowed(form);
    let tax_regime = match input.tax_regime.parse::<TaxRegime>() {
        Ok(t) if allowed.contains(&t) => t,
        Ok(_) => {
            bad(
                "tax_regime",
                &format!(
                    "Для формы «{}» возможно: {}",
                    form.label_ru(),
                    allowed.iter().map(|t| t.label_ru()).collect::<Vec<_>>().join(", ")
                ),
            );
            allowed[0]
        }
        Err(_) => allowed[0],
    };

    let contact_phone = match opt(&input.contact_phone).map(|p| Phone::parse(&p)) {
        None => None,
        Some(Ok(p)) => Some(p.as_str().to_string()),
        Some(Err(m)) => {
            bad("contact_phone", m);
            None
        }
    };
    let contact_email = match opt(&input.contact_email).map(|e| Email::parse(&e)) {
        None => None,
        Some(Ok(e)) => Some(e.as_str().to_string()),
        Some(Err(m)) => {
            bad("contact_email", m);
            None
        }
    };

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ValidCard {
        legal_form: form,
        name,
        inn,
        ogrn,
        kpp,
        legal_address,
        postal_address,
        bank_name,
        bik,
        settlement_account: account,
        correspondent_account: corr,
        signatory,
        signatory_basis: basis,
        attorney,
        tax_regime,
        contact_phone,
        contact_email,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ooo() -> CardInput {
        CardInput {
            legal_form: "ooo".into(),
            name: "ООО «Ромашка»".into(),
            inn: "7707083893".into(),
            ogrn: "1027700132195".into(),
            kpp: "773601001".into(),
            legal_address: "117312, г. Москва, ул. Вавилова, д. 19".into(),
            bank_name: "ПАО Сбербанк".into(),
            bik: "044525225".into(),
            settlement_account: "40702810938000000001".into(),
            correspondent_account: "30101810400000000225".into(),
            signatory: "Генеральный директор Иванов И. И.".into(),
            signatory_basis: "charter".into(),
            tax_regime: "usn".into(),
            ..Default::default()
        }
    }

    fn fields(input: &CardInput) -> Vec<String> {
        validate_card(input)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|f| f.field)
            .collect()
    }

    #[test]
    fn a_complete_ooo_passes() {
        let c = validate_card(&ooo()).unwrap();
        assert_eq!(c.kpp.as_deref(), Some("773601001"));
        assert_eq!(c.tax_regime, TaxRegime::Usn);
    }

    #[test]
    fn each_wrong_requisite_is_named() {
        let mut i = ooo();
        i.inn = "7707083894".into();
        i.settlement_account = "40702810938000000002".into();
        i.kpp = "".into();
        assert_eq!(fields(&i), ["inn", "kpp", "settlement_account"]);
        let mut i = ooo();
        i.inn = "500100732259".into();
        assert_eq!(fields(&i), ["inn"], "an ООО's ИНН has 10 digits");
    }

    #[test]
    fn the_form_decides_what_is_required() {
        let i = CardInput {
            legal_form: "self_employed".into(),
            name: "Петров Пётр".into(),
            inn: "500100732259".into(),
            tax_regime: "npd".into(),
            ..Default::default()
        };
        assert!(validate_card(&i).is_ok());
        let mut ip = i.clone();
        ip.legal_form = "ip".into();
        ip.tax_regime = "npd".into();
        assert_eq!(fields(&ip), ["ogrn", "legal_address", "tax_regime"]);
        let mut half = i.clone();
        half.bik = "044525225".into();
        assert_eq!(
            fields(&half),
            ["bank_name", "settlement_account", "correspondent_account"]
        );
    }
}
