//! Amounts in words, as Russian acts print them («Одна тысяча двести
//! рублей 50 копеек»).

use crate::types::Money;

const ONES_M: [&str; 10] = [
    "",
    "один",
    "два",
    "три",
    "четыре",
    "пять",
    "шесть",
    "семь",
    "восемь",
    "девять",
];
const ONES_F: [&str; 10] = [
    "",
    "одна",
    "две",
    "три",
    "четыре",
    "пять",
    "шесть",
    "семь",
    "восемь",
    "девять",
];
const TEENS: [&str; 10] = [
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
];
const TENS: [&str; 10] = [
    "",
    "",
    "двадцать",
    "тридцать",
    "сорок",
    "пятьдесят",
    "шестьдесят",
    "семьдесят",
    "восемьдесят",
    "девяносто",
];
const HUNDREDS: [&str; 10] = [
    "",
    "сто",
    "двести",
    "триста",
    "четыреста",
    "пятьсот",
    "шестьсот",
    "семьсот",
    "восемьсот",
    "девятьсот",
];

/// The form of a noun after `n`: 1 рубль, 2 рубля, 5 рублей.
pub fn plural<'a>(n: u64, one: &'a str, few: &'a str, many: &'a str) -> &'a str {
    match (n % 100, n % 10) {
        (11..=14, _) => many,
        (_, 1) => one,
        (_, 2..=4) => few,
        _ => many,
    }
}

/// 0 < n < 1000 in words, the gender of the noun that follows.
fn triple(n: u64, feminine: bool, out: &mut Vec<&'static str>) {
    let (h, t, o) = ((n / 100) as usize, ((n / 10) % 10) as usize, (n % 10) as usize);
    if h > 0 {
        out.push(HUNDREDS[h]);
    }
    if t == 1 {
        out.push(TEENS[o]);
        return;
    }
    if t > 1 {
        out.push(TENS[t]);
    }
    if o > 0 {
        out.push(if feminine { ONES_F[o] } else { ONES_M[o] });
    }
}

/// A whole number in words (masculine: «двадцать один»).
pub fn number(n: u64) -> String {
    if n == 0 {
        return "ноль".into();
    }
    const SCALES: [(u64, bool, [&str; 3]); 4] = [
        (1_000_000_000_000, false, ["триллион", "триллиона", "триллионов"]),
        (1_000_000_000, false, ["миллиард", "миллиарда", "миллиардов"]),
        (1_000_000, false, ["миллион", "миллиона", "миллионов"]),
        (1_000, true, ["тысяча", "тысячи", "тысяч"]),
    ];
    let mut out = Vec::new();
    let mut rest = n;
    for (scale, feminine, [one, few, many]) in SCALES {
        let part = rest / scale;
        rest %= scale;
        if part == 0 {
            continue;
        }
        // u64 rubles stay below a quintillion; kopecks in an i64, below 10^15.
        if part >= 1000 {
            triple(part / 1000, false, &mut out);
            out.push("тысяч");
        }
        triple(part % 1000, feminine, &mut out);
        out.push(plural(part, one, few, many));
    }
    if rest > 0 {
        triple(rest, false, &mut out);
    }
    out.join(" ")
}

/// «Одна тысяча двести рублей 50 копеек»: rubles in words, kopecks in
/// figures, capitalised. A negative amount starts with «минус».
pub fn rubles(m: Money) -> String {
    let k = m.kopecks();
    let abs = k.unsigned_abs();
    let (r, kop) = (abs / 100, abs % 100);
    let text = format!(
        "{}{} {} {kop:02} {}",
        if k < 0 { "минус " } else { "" },
        number(r),
        plural(r, "рубль", "рубля", "рублей"),
        plural(kop, "копейка", "копейки", "копеек")
    );
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

#[cfg(test)]
// Kopecks written as rubles_kopecks on purpose.
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_an_accountant_writes_them() {
        assert_eq!(rubles(Money::from_kopecks(0)), "Ноль рублей 00 копеек");
        assert_eq!(rubles(Money::from_kopecks(101)), "Один рубль 01 копейка");
        assert_eq!(
            rubles(Money::from_kopecks(123_456_78)),
            "Сто двадцать три тысячи четыреста пятьдесят шесть рублей 78 копеек"
        );
        assert_eq!(rubles(Money::from_kopecks(1_000_00)), "Одна тысяча рублей 00 копеек");
        assert_eq!(rubles(Money::from_kopecks(2_002_00)), "Две тысячи два рубля 00 копеек");
        assert_eq!(
            rubles(Money::from_kopecks(11_000_00)),
            "Одиннадцать тысяч рублей 00 копеек"
        );
        assert_eq!(
            rubles(Money::from_kopecks(21_000_022_00)),
            "Двадцать один миллион двадцать два рубля 00 копеек"
        );
        assert_eq!(rubles(Money::from_kopecks(14_12)), "Четырнадцать рублей 12 копеек");
        assert_eq!(number(3_000_000_000), "три миллиарда");
        assert_eq!(number(512), "пятьсот двенадцать");
        assert_eq!(rubles(Money::from_kopecks(-5_00)), "Минус пять рублей 00 копеек");
    }
}
