//! TFLite model metadata (the `TFLITE_METADATA` buffer that Model Maker and the metadata
//! writers add): the input's normalization, `(x − mean) / std` per channel.

use super::metadata_generated::tflite_metadata as md;

/// The input tensor's normalization options, from the metadata buffer's bytes, when present
/// and well formed: one mean and one std, or one per channel.
pub(crate) fn normalization(bytes: &[u8]) -> Option<(Vec<f32>, Vec<f32>)> {
    if !md::model_metadata_buffer_has_identifier(bytes) {
        return None;
    }
    let meta = md::root_as_model_metadata(bytes).ok()?;
    let input = meta
        .subgraph_metadata()?
        .iter()
        .next()?
        .input_tensor_metadata()?
        .iter()
        .next()?;
    let units = input.process_units()?;
    let norm = units
        .iter()
        .find_map(|u| u.options_as_normalization_options())?;
    let mean: Vec<f32> = norm.mean()?.iter().collect();
    let std: Vec<f32> = norm.std_()?.iter().collect();
    let sizes_ok = |v: &[f32]| v.len() == 1 || v.len() == 3;
    let finite = mean.iter().chain(&std).all(|v| v.is_finite()) && std.iter().all(|&s| s != 0.0);
    (sizes_ok(&mean) && sizes_ok(&std) && finite).then_some((mean, std))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    /// A metadata buffer as Model Maker writes it: the input's normalization options.
    fn metadata(mean: &[f32], std: &[f32]) -> Vec<u8> {
        let mut b = flatbuffers::FlatBufferBuilder::new();
        let (mean, std) = (b.create_vector(mean), b.create_vector(std));
        let norm = md::NormalizationOptions::create(
            &mut b,
            &md::NormalizationOptionsArgs {
                mean: Some(mean),
                std_: Some(std),
            },
        );
        let unit = md::ProcessUnit::create(
            &mut b,
            &md::ProcessUnitArgs {
                options_type: md::ProcessUnitOptions::NormalizationOptions,
                options: Some(norm.as_union_value()),
            },
        );
        let units = b.create_vector(&[unit]);
        let name = b.create_string("image");
        let input = md::TensorMetadata::create(
            &mut b,
            &md::TensorMetadataArgs {
                name: Some(name),
                process_units: Some(units),
                ..Default::default()
            },
        );
        let inputs = b.create_vector(&[input]);
        let sub = md::SubGraphMetadata::create(
            &mut b,
            &md::SubGraphMetadataArgs {
                input_tensor_metadata: Some(inputs),
                ..Default::default()
            },
        );
        let subs = b.create_vector(&[sub]);
        let root = md::ModelMetadata::create(
            &mut b,
            &md::ModelMetadataArgs {
                subgraph_metadata: Some(subs),
                ..Default::default()
            },
        );
        md::finish_model_metadata_buffer(&mut b, root);
        b.finished_data().to_vec()
    }

    #[test]
    fn normalization_options_are_read_and_checked() {
        assert_eq!(
            normalization(&metadata(&[127.5], &[127.5])),
            Some((vec![127.5], vec![127.5]))
        );
        let per_channel = metadata(&[123.7, 116.3, 103.5], &[58.4, 57.1, 57.4]);
        assert_eq!(
            normalization(&per_channel).unwrap().0,
            vec![123.7, 116.3, 103.5]
        );
        // A zero std, two values for three channels, or other bytes: no normalization.
        assert_eq!(normalization(&metadata(&[0.0], &[0.0])), None);
        assert_eq!(normalization(&metadata(&[1.0, 2.0], &[1.0, 2.0])), None);
        assert_eq!(normalization(b"not metadata"), None);
    }
}
