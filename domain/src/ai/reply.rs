//! A model's answer as Telegram messages: its Markdown turned into the
//! HTML subset Telegram accepts (`<b>`, `<i>`, `<s>`, `<code>`, `<pre>`,
//! `<a>`, `<blockquote>`; everything else escaped — a model's raw HTML is
//! shown, never interpreted), and cut on paragraph boundaries into messages
//! that fit Telegram's 4,096 characters.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

/// Telegram's limit on one message's text.
pub const TELEGRAM_LIMIT: usize = 4096;

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// A link Telegram may open; anything else (`javascript:`…) becomes text.
fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    ["http://", "https://", "tg://", "mailto:"]
        .iter()
        .any(|p| lower.starts_with(p))
}

/// The model's Markdown emphasis and code marks taken off, for places
/// that send plain text (an operator's reply box, a user account's message).
pub fn unmark(markdown: &str) -> String {
    markdown.replace("**", "").replace("__", "").replace('`', "")
}

/// Markdown → Telegram HTML (parse mode `HTML`).
pub fn to_telegram_html(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() + 32);
    // Ordered lists' next numbers, innermost last (`None`: bullets).
    let mut lists: Vec<Option<u64>> = Vec::new();
    // Whether each open link is shown as a link.
    let mut links: Vec<bool> = Vec::new();
    // Whether the table row being written has a cell yet.
    let mut cell_in_row = false;
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Start(tag) => match tag {
                Tag::Paragraph => {}
                Tag::Heading { .. } => out.push_str("<b>"),
                Tag::BlockQuote(_) => out.push_str("<blockquote>"),
                Tag::CodeBlock(kind) => match kind {
                    CodeBlockKind::Fenced(lang) if !lang.trim().is_empty() => {
                        out.push_str("<pre><code class=\"language-");
                        escape(lang.split_whitespace().next().unwrap_or(""), &mut out);
                        out.push_str("\">");
                    }
                    _ => out.push_str("<pre><code>"),
                },
                Tag::List(start) => {
                    if !lists.is_empty() && !out.ends_with('\n') {
                        out.push('\n');
                    }
                    lists.push(start);
                }
                Tag::Item => {
                    let depth = lists.len().saturating_sub(1);
                    out.push_str(&"  ".repeat(depth));
                    match lists.last_mut() {
                        Some(Some(n)) => {
                            out.push_str(&format!("{n}. "));
                            *n += 1;
                        }
                        _ => out.push_str("• "),
                    }
                }
                Tag::Emphasis => out.push_str("<i>"),
                Tag::Strong => out.push_str("<b>"),
                Tag::Strikethrough => out.push_str("<s>"),
                Tag::Link { dest_url, .. } => {
                    let shown = safe_url(&dest_url);
                    if shown {
                        out.push_str("<a href=\"");
                        escape(&dest_url, &mut out);
                        out.push_str("\">");
                    }
                    links.push(shown);
                }
                Tag::TableHead | Tag::TableRow => cell_in_row = false,
                Tag::TableCell => {
                    if cell_in_row {
                        out.push_str(" | ");
                    }
                    cell_in_row = true;
                }
                _ => {}
            },
            Event::End(tag) => match tag {
                TagEnd::Paragraph => out.push_str(if lists.is_empty() { "\n\n" } else { "\n" }),
                TagEnd::Heading(_) => out.push_str("</b>\n\n"),
                TagEnd::BlockQuote(_) => {
                    trim_end(&mut out);
                    out.push_str("</blockquote>\n\n");
                }
                TagEnd::CodeBlock => {
                    trim_end(&mut out);
                    out.push_str("</code></pre>\n\n");
                }
                TagEnd::List(_) => {
                    lists.pop();
                    if lists.is_empty() {
                        out.push('\n');
                    }
                }
                TagEnd::Item if !out.ends_with('\n') => out.push('\n'),
                TagEnd::Emphasis => out.push_str("</i>"),
                TagEnd::Strong => out.push_str("</b>"),
                TagEnd::Strikethrough => out.push_str("</s>"),
                // The guard pops the link either way; only a shown one closes.
                TagEnd::Link if links.pop() == Some(true) => out.push_str("</a>"),
                TagEnd::TableRow | TagEnd::TableHead => out.push('\n'),
                TagEnd::Table => out.push('\n'),
                _ => {}
            },
            Event::Text(t) => escape(&t, &mut out),
            Event::Code(c) => {
                out.push_str("<code>");
                escape(&c, &mut out);
                out.push_str("</code>");
            }
            // A model's HTML is shown as text, never passed through.
            Event::Html(h) | Event::InlineHtml(h) => escape(&h, &mut out),
            Event::SoftBreak | Event::HardBreak => out.push('\n'),
            Event::Rule => out.push_str("———\n\n"),
            Event::TaskListMarker(done) => out.push_str(if done { "☑ " } else { "☐ " }),
            Event::FootnoteReference(r) => {
                out.push('[');
                escape(&r, &mut out);
                out.push(']');
            }
            Event::InlineMath(m) | Event::DisplayMath(m) => escape(&m, &mut out),
        }
    }
    trim_end(&mut out);
    out
}

fn trim_end(s: &mut String) {
    let kept = s.trim_end().len();
    s.truncate(kept);
}

/// Markdown blocks: paragraphs split on blank lines, a fenced code block
/// kept whole however many blank lines it holds.
fn blocks(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut fenced = false;
    for line in markdown.lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            fenced = !fenced;
        }
        if !fenced && line.trim().is_empty() {
            if !cur.trim().is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            cur.clear();
            continue;
        }
        if !cur.is_empty() {
            cur.push('\n');
        }
        cur.push_str(line);
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// Pieces of a block too long for one message: by lines, then sentences,
/// then words, then characters — each piece's HTML within `limit`.
fn cut(block: &str, limit: usize) -> Vec<String> {
    let fits = |s: &str| to_telegram_html(s).chars().count() <= limit;
    if fits(block) {
        return vec![block.to_string()];
    }
    for sep in ["\n", ". ", " "] {
        let parts: Vec<&str> = block.split_inclusive(sep).collect();
        if parts.len() > 1 {
            return pack(parts.into_iter().map(str::to_string), "", limit)
                .into_iter()
                .flat_map(|p| cut(&p, limit))
                .collect();
        }
    }
    // One unbroken word: by characters, leaving room for escapes.
    let chars: Vec<char> = block.chars().collect();
    let small = chars.chunks((limit / 6).max(1)).map(|c| c.iter().collect());
    pack(small, "", limit)
}

/// Joins pieces greedily while the rendered result stays within `limit`.
fn pack(pieces: impl IntoIterator<Item = String>, joiner: &str, limit: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for p in pieces {
        if cur.is_empty() {
            cur = p;
            continue;
        }
        let joined = format!("{cur}{joiner}{p}");
        if to_telegram_html(&joined).chars().count() <= limit {
            cur = joined;
        } else {
            out.push(std::mem::replace(&mut cur, p));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The answer as Telegram messages (HTML), each within `limit` characters,
/// cut between paragraphs where possible.
pub fn split_reply(markdown: &str, limit: usize) -> Vec<String> {
    let pieces = blocks(markdown).into_iter().flat_map(|b| cut(&b, limit));
    pack(pieces, "\n\n", limit)
        .iter()
        .map(|m| to_telegram_html(m))
        .filter(|h| !h.trim().is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_loses_the_marks() {
        assert_eq!(super::unmark("**Ответ** `код`"), "Ответ код");
    }

    #[test]
    fn markdown_becomes_telegram_html() {
        assert_eq!(
            to_telegram_html("**Ставка** от *9,5 %* и `код`"),
            "<b>Ставка</b> от <i>9,5 %</i> и <code>код</code>"
        );
        assert_eq!(to_telegram_html("# Итог\nтекст"), "<b>Итог</b>\n\nтекст");
        assert_eq!(
            to_telegram_html("- один\n- два\n\n1. первый\n2. второй"),
            "• один\n• два\n\n1. первый\n2. второй"
        );
        assert_eq!(
            to_telegram_html("```rust\nlet a = 1 < 2;\n```"),
            "<pre><code class=\"language-rust\">let a = 1 &lt; 2;</code></pre>"
        );
        assert_eq!(
            to_telegram_html("[сайт](https://mak.example/?a=1&b=2)"),
            "<a href=\"https://mak.example/?a=1&amp;b=2\">сайт</a>"
        );
        assert_eq!(to_telegram_html("> цитата"), "<blockquote>цитата</blockquote>");
        assert_eq!(to_telegram_html("~~нет~~"), "<s>нет</s>");
    }

    #[test]
    fn html_and_unsafe_links_from_the_model_stay_text() {
        assert_eq!(
            to_telegram_html("<script>alert(1)</script> & <b>жирный</b>"),
            "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;жирный&lt;/b&gt;"
        );
        assert_eq!(to_telegram_html("[жми](javascript:alert(1))"), "жми");
    }

    #[test]
    fn long_answers_split_between_paragraphs_within_the_limit() {
        let para = |n: usize| format!("Абзац {n}. {}", "слово ".repeat(100).trim_end());
        let text: Vec<String> = (1..=12).map(para).collect();
        let md = text.join("\n\n");
        let parts = split_reply(&md, TELEGRAM_LIMIT);
        assert!(parts.len() >= 2, "{}", parts.len());
        for p in &parts {
            assert!(p.chars().count() <= TELEGRAM_LIMIT);
            assert!(p.starts_with("Абзац "), "each message starts a paragraph: {}", &p[..40]);
        }
        // Nothing lost, nothing repeated.
        assert_eq!(parts.join("\n\n"), to_telegram_html(&md));
    }

    #[test]
    fn a_paragraph_longer_than_a_message_is_cut_by_sentences_then_words() {
        let md = "Предложение номер один. ".repeat(400);
        let parts = split_reply(&md, 1000);
        assert!(parts.len() >= 10);
        assert!(parts.iter().all(|p| p.chars().count() <= 1000));
        let words: usize = parts.iter().map(|p| p.split_whitespace().count()).sum();
        assert_eq!(words, 1200, "three words a sentence, none lost");
        let word = "а".repeat(5000);
        let parts = split_reply(&word, TELEGRAM_LIMIT);
        assert!(parts.iter().all(|p| p.chars().count() <= TELEGRAM_LIMIT));
        assert_eq!(parts.concat(), word);
    }

    #[test]
    fn a_code_block_with_blank_lines_stays_one_block() {
        let md = "Код:\n\n```\nfn a() {}\n\nfn b() {}\n```";
        assert_eq!(blocks(md).len(), 2);
        assert_eq!(split_reply(md, TELEGRAM_LIMIT).len(), 1);
    }
}
