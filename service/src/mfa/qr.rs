//! The setup QR code, drawn on the server as SVG: no image library, no remote service.

use qrcodegen::{QrCode, QrCodeEcc};

/// Quiet zone, in modules, as the QR standard asks.
const BORDER: i32 = 4;

/// `text` as an SVG QR code; `None` if it is too long for one.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = code.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if code.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + BORDER, y + BORDER));
            }
        }
    }
    let total = size + 2 * BORDER;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {total} {total}\" \
         shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\
         <path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_uri_becomes_a_self_contained_svg() {
        let svg = super::svg(
            "otpauth://totp/patient-auth:a%40example.com?secret=ABC&issuer=patient-auth",
        )
        .expect("svg");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("<path d=\"M"));
        assert!(!svg.contains("href"), "nothing loaded from elsewhere");
        assert!(super::svg(&"x".repeat(5000)).is_none());
    }
}
