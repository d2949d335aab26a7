//! sealgrid's HTML report: a plain data model of market rounds ([`ReportData`]) and one
//! self-contained HTML page with inline SVG plots drawn by plotters.
//!
//! | module | does |
//! | --- | --- |
//! | [`model`] | the data model, the curves D(k) and S(k), time labels |
//! | [`plots`] | the SVG plots: curves per slot, prices and volumes over the day, a prosumer's bids |
//! | [`html`] | the page: tables, figures, escaping |
//!
//! The data model knows nothing of how it was obtained: `sealgrid demo` fills it from
//! the households it plays (private views included), an audit from public chain data.
//! Rendering reads no clock and no environment: the same data gives the same bytes.

pub mod html;
pub mod model;
pub mod plots;

use std::io::Write as _;
use std::path::Path;

pub use html::{escape, render};
pub use model::{
    time_label, utc_timestamp, Check, MarketInfo, ProsumerView, ReportData, Side, SlotData,
    TradeView,
};

/// Why a report was not made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The data cannot be drawn (see [`ReportData::validate`]).
    #[error("report data: {0}")]
    Data(String),
    /// plotters failed to draw.
    #[error("plot: {0}")]
    Plot(String),
    /// The file could not be written.
    #[error("writing {path}: {source}")]
    Io {
        /// The report's path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Renders `data` and writes it to `path` atomically: into a temporary file in the same
/// directory (made if missing), then renamed over `path`, so a reader never sees half a
/// report.
pub fn write(data: &ReportData, path: &Path) -> Result<(), ReportError> {
    let page = render(data)?;
    let io = |source| ReportError::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".report-")
        .suffix(".html.tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(page.as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}
