//! The two charts of the quality benchmark: rate against distortion, and task fidelity
//! against size, one panel per model.

use crate::quality::{Family, Measurement, ModelData};
use crate::shannon::lower_bound_bits;
use crate::svg::{render, Panel, Series, YScale};

const FAMILIES: [Family; 7] = [
    Family::HypercBits,
    Family::HypercPresets,
    Family::PaperScaled,
    Family::Int8,
    Family::Int4,
    Family::Int4Group,
    Family::Palette,
];

fn series_by_family(rows: &[Measurement], y: impl Fn(&Measurement) -> Option<f64>) -> Vec<Series> {
    FAMILIES
        .iter()
        .filter_map(|&family| {
            let points: Vec<(f64, f64)> = rows
                .iter()
                .filter(|m| m.scheme.family() == family)
                .filter_map(|m| y(m).map(|value| (m.bits_per_weight, value)))
                .collect();
            (!points.is_empty()).then(|| Series {
                label: family.label().to_string(),
                points,
                color: family.color(),
                dashed: false,
            })
        })
        .collect()
}

/// Computes the Shannon lower bound as a curve of (bits per weight, relative MSE) when
/// every tensor has the same relative MSE, from 1e-7 to 1.
fn shannon_curve(model: &ModelData) -> Series {
    let points = (0..=140)
        .map(|i| {
            let rel_mse = 10f64.powf(-7.0 + f64::from(i) * 0.05);
            let squared: Vec<f64> = model.tensor_energy.iter().map(|e| rel_mse * e).collect();
            (lower_bound_bits(&model.entropies, &squared), rel_mse)
        })
        .collect();
    Series {
        label: "Shannon lower bound, same relative MSE in every tensor".into(),
        points,
        color: "#000000",
        dashed: true,
    }
}

/// Rate–distortion chart: bits per weight against relative MSE on a log scale.
pub fn rate_distortion(models: &[(&ModelData, Vec<Measurement>)]) -> String {
    let panels: Vec<Panel> = models
        .iter()
        .map(|(model, rows)| Panel {
            title: format!("{} ({} weights)", model.case.model, model.weights),
            x_label: "bits per weight (indices, scales, palettes, raw biases)".into(),
            y_label: "relative MSE ‖w − ŵ‖² / ‖w‖²".into(),
            y_scale: YScale::Log,
            x_include: Some(0.0),
            series: series_by_family(rows, |m| Some(m.rel_mse)),
            background: vec![shannon_curve(model)],
        })
        .collect();
    render("Rate and distortion of the weights", &panels, 2)
}

/// Fidelity chart: top-1 agreement (classifiers) or anomaly-score error (autoencoder)
/// against bits per weight.
pub fn fidelity_vs_size(models: &[(&ModelData, Vec<Measurement>)]) -> String {
    let panels: Vec<Panel> = models
        .iter()
        .map(|(model, rows)| {
            let classifier = rows.iter().any(|m| m.comparison.top1_agreement.is_some());
            let (y_label, y_scale) = if classifier {
                ("top-1 agreement with float model (%)", YScale::Linear)
            } else {
                ("anomaly-score relative error", YScale::Log)
            };
            Panel {
                title: format!("{} ({} inputs)", model.case.model, model.reference.rows),
                x_label: "bits per weight (indices, scales, palettes, raw biases)".into(),
                y_label: y_label.into(),
                y_scale,
                x_include: None,
                series: series_by_family(rows, |m| {
                    if classifier {
                        m.comparison.top1_agreement.map(|a| 100.0 * a)
                    } else {
                        m.comparison.anomaly_score_rel_error
                    }
                }),
                background: Vec::new(),
            }
        })
        .collect();
    render("Task fidelity against size", &panels, 2)
}
