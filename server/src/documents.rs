//! The PDF renderer the domain's documents use: Typst, from the `render`
//! crate, behind the domain's `Render` trait.

use domain::documents::{Render, TemplateError};

pub struct Typst(render::Renderer);

impl Typst {
    pub fn new() -> Self {
        Self(render::Renderer::new())
    }
}

impl Default for Typst {
    fn default() -> Self {
        Self::new()
    }
}

impl Render for Typst {
    fn pdf(&self, template: &str, data: &serde_json::Value) -> Result<Vec<u8>, TemplateError> {
        self.0.pdf(template, data).map_err(|e| match e {
            render::RenderError::Template { line, message } => TemplateError { line, message },
            other => TemplateError {
                line: 0,
                message: other.to_string(),
            },
        })
    }
}
