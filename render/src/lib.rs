//! Documents (acts, contracts) rendered to PDF with Typst. A template is
//! Typst markup an admin edits; the document's data reaches it as JSON, so
//! nothing a partner typed is ever read as markup: the template sees it as
//! `d` (`#d.number`, `#d.partner.name`, `#for row in d.rows [...]`).
//!
//! Typst is sandboxed here: no file, package or network access (a template
//! can read nothing but its data), and its loops stop by themselves. The
//! fonts are the ones typst-assets embeds (Libertinus Serif, New Computer
//! Modern), parsed once per `Renderer`.

use typst::foundations::{Dict, Value};
use typst::syntax::{DiagSpanKind, Source};
use typst::text::Font;
use typst_as_lib::{TypstAsLibError, TypstEngine};

/// Renders a memoised result may stay unused before Typst drops it.
const EVICT_AFTER: usize = 8;

/// The line every template starts with, before the admin's text.
const PRELUDE: &str = "#let d = json(bytes(sys.inputs.data))\n";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    /// The template does not compile with this data: what is wrong and on
    /// which line of the admin's text (1-based; 0 when unknown).
    #[error("строка {line}: {message}")]
    Template { line: usize, message: String },
    #[error("PDF: {0}")]
    Pdf(String),
}

#[derive(Clone)]
pub struct Renderer {
    fonts: Vec<Font>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    pub fn new() -> Self {
        let fonts = typst_assets::fonts()
            .flat_map(|data| Font::iter(typst::foundations::Bytes::new(data)))
            .collect();
        Self { fonts }
    }

    /// The PDF of `template` filled with `data` (a JSON object).
    pub fn pdf(&self, template: &str, data: &serde_json::Value) -> Result<Vec<u8>, RenderError> {
        let main = format!("{PRELUDE}{template}");
        let engine = TypstEngine::builder()
            .main_file(main.as_str())
            .fonts(self.fonts.iter().cloned())
            // Keep what Typst memoised for a few renders (the next act reuses
            // the parsed template; its page, with other data, is laid out
            // anew); older entries are evicted, so memory stays bounded
            // however many acts are rendered.
            .comemo_evict_max_age(Some(EVICT_AFTER))
            .build();
        let mut input = Dict::new();
        input.insert("data".into(), Value::Str(data.to_string().as_str().into()));
        let doc = engine
            .compile_with_input(input)
            .output
            .map_err(|e| template_error(&main, e))?;
        typst_pdf::pdf(&doc, &Default::default()).map_err(|diags| {
            RenderError::Pdf(
                diags
                    .iter()
                    .map(|d| d.message.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
    }
}

/// The first error, on the admin's line numbering (the prelude is line 0).
fn template_error(main: &str, e: TypstAsLibError) -> RenderError {
    match e {
        TypstAsLibError::TypstSource(diags) => {
            let source = Source::detached(main);
            let first = diags
                .iter()
                .find(|d| d.severity == typst::diag::Severity::Error)
                .or(diags.first());
            match first {
                Some(d) => {
                    let range = match d.span.get() {
                        DiagSpanKind::Number { num, sub_range, .. } => source.range(num, sub_range),
                        DiagSpanKind::Range { range, .. } => Some(range),
                        DiagSpanKind::Detached => None,
                    };
                    let line = range.and_then(|r| source.lines().byte_to_line(r.start)).unwrap_or(0);
                    let mut message = d.message.to_string();
                    for hint in &d.hints {
                        message.push_str(&format!(" ({})", hint.v));
                    }
                    RenderError::Template { line, message }
                }
                None => RenderError::Template {
                    line: 0,
                    message: "шаблон не собирается".into(),
                },
            }
        }
        other => RenderError::Template {
            line: 0,
            message: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_fills_the_template_and_is_never_markup() {
        let r = Renderer::new();
        let pdf = r
            .pdf(
                "= Акт № #d.number\n#d.name",
                &serde_json::json!({"number": "7", "name": "#panic(\"x\")"}),
            )
            .unwrap();
        assert!(pdf.starts_with(b"%PDF"));
    }

    #[test]
    fn errors_point_at_the_admins_line() {
        let r = Renderer::new();
        let e = r.pdf("ok\n#d.missing.deeper", &serde_json::json!({})).unwrap_err();
        match e {
            RenderError::Template { line, .. } => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn files_are_out_of_reach() {
        let r = Renderer::new();
        assert!(r.pdf("#read(\"/etc/passwd\")", &serde_json::json!({})).is_err());
    }
}
