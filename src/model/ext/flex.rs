//! [`KernelBackend`] for burn-flex: its tensors' contiguous data handed to the kernels image by
//! image, or to the reference for dtypes and shapes the kernels do not take.

use core::mem::MaybeUninit;

use burn::backend::Flex;
use burn::backend::flex::{FlexTensor, Layout};
use burn::tensor::{Bytes, DType, Element, Shape};

use super::reference;
use super::{
    Block, BlockParams, Expansion, FloatParams, FloatResidual, Int8Params, Int8Residual,
    KernelBackend,
};
use crate::kernels::block::{Stage, block};
use crate::kernels::conv::{
    QWeightsRef, conv_f32, conv_int8, f32_takes, int8_takes, qpacked_shape,
};
use crate::kernels::gemm::f32::packed_shape;
use crate::kernels::gemm::int8::{Layout as QLayout, QOut};
use crate::kernels::select::selected;
use crate::spec::{Conv, Epilogue, Requant};

/// The contiguous data of a tensor whose dtype was checked.
fn data<T: Element + bytemuck::Pod>(t: &FlexTensor) -> &[T] {
    t.as_slice::<T>()
        .expect("a contiguous tensor of the checked dtype")
}

/// A new `[n, oh, ow, c]` tensor of `dtype`, written image by image by `f(image, output)`,
/// which writes every element of its image's output.
fn per_image<T: Element>(
    [n, oh, ow, c]: [usize; 4],
    dtype: DType,
    mut f: impl FnMut(usize, &mut [MaybeUninit<T>]),
) -> FlexTensor {
    let image = oh * ow * c;
    let len = n * image;
    let mut out: Vec<T> = Vec::with_capacity(len);
    for (i, ob) in out.spare_capacity_mut()[..len]
        .chunks_exact_mut(image.max(1))
        .take(n)
        .enumerate()
    {
        f(i, ob);
    }
    // SAFETY: `f` wrote every element of each image's output, so all `len` are set.
    unsafe { out.set_len(len) };
    FlexTensor::new(
        Bytes::from_elems(out),
        Layout::contiguous(Shape::new([n, oh, ow, c])),
        dtype,
    )
}

/// Image `i` of a batch of `[n, len]`.
fn image<T>(data: &[T], i: usize, len: usize) -> &[T] {
    &data[i * len..][..len]
}

/// The float weights' shape in the kernels' layout.
fn f32_layout(conv: &Conv) -> [usize; 4] {
    if conv.groups == 1 {
        packed_shape(conv)
    } else {
        conv.hwio_shape()
    }
}

impl KernelBackend for Flex {
    fn conv_f32(
        x: FlexTensor,
        params: FloatParams<Self>,
        residual: FloatResidual<Self>,
        conv: Conv,
        epilogue: Epilogue,
    ) -> FlexTensor {
        let FloatParams { weight, bias } = params;
        let residual = match residual {
            FloatResidual::Add(r) => Some(r),
            FloatResidual::None => None,
        };
        let [n, h, w, cin] = x.layout().shape().dims::<4>();
        let g = conv.window(h, w);
        let all_f32 = [&x, &weight, &bias].iter().all(|t| t.dtype() == DType::F32)
            && residual.as_ref().is_none_or(|r| r.dtype() == DType::F32);
        let fits = cin == conv.in_channels
            && weight.layout().shape().dims::<4>() == f32_layout(&conv)
            && residual.as_ref().is_none_or(|r| {
                r.layout().shape().dims::<4>() == [n, g.oh, g.ow, conv.out_channels]
            });
        if !all_f32 || !fits || !f32_takes(&conv) || n * h * w * cin == 0 || g.oh * g.ow == 0 {
            let params = FloatParams { weight, bias };
            let residual = residual.map_or(FloatResidual::None, FloatResidual::Add);
            return reference::conv_f32_on::<Flex>(x, params, residual, conv, epilogue);
        }
        let (x, weight, bias) = (
            x.to_contiguous(),
            weight.to_contiguous(),
            bias.to_contiguous(),
        );
        let residual = residual.map(|r| r.to_contiguous());
        let (xs, ws, bs) = (data::<f32>(&x), data::<f32>(&weight), data::<f32>(&bias));
        let rs = residual.as_ref().map(data::<f32>);
        let out_len = g.oh * g.ow * conv.out_channels;
        let shape = [n, g.oh, g.ow, conv.out_channels];
        per_image(shape, DType::F32, |i, out| {
            let xb = image(xs, i, h * w * cin);
            let rb = rs.map(|r| image(r, i, out_len));
            conv_f32(&conv, g, xb, ws, bs, rb, &epilogue, out);
        })
    }

    fn block_f32(x: FlexTensor, params: BlockParams<Self>, b: Block) -> FlexTensor {
        let [n, h, w, cin] = x.layout().shape().dims::<4>();
        let (dc, pc) = (b.depthwise.0, b.project.0);
        let expanded = dc.in_channels;
        let expand = match params.expand {
            Expansion::Conv(p) => Some((p.weight, p.bias)),
            Expansion::None => None,
        };
        let FloatParams {
            weight: depthwise_weight,
            bias: depthwise_bias,
        } = params.depthwise;
        let FloatParams {
            weight: project_weight,
            bias: project_bias,
        } = params.project;
        let tensors = [
            &x,
            &depthwise_weight,
            &depthwise_bias,
            &project_weight,
            &project_bias,
        ];
        let all_f32 = tensors.iter().all(|t| t.dtype() == DType::F32)
            && expand
                .as_ref()
                .is_none_or(|(w, b)| w.dtype() == DType::F32 && b.dtype() == DType::F32);
        let fits = dc.is_depthwise()
            && pc.is_pointwise()
            && pc.in_channels == expanded
            && expand.is_some() == b.expand.is_some()
            && b.expand.is_none_or(|(c, _)| {
                c.is_pointwise() && c.in_channels == cin && c.out_channels == expanded
            })
            && (b.expand.is_some() || cin == expanded)
            && (!b.residual || (pc.out_channels == cin && dc.stride == 1));
        let g = dc.window(h, w);
        if !all_f32 || !fits || n * h * w * cin == 0 || g.oh * g.ow == 0 {
            let float = |(weight, bias)| FloatParams { weight, bias };
            let params = BlockParams {
                expand: expand.map_or(Expansion::None, |e| Expansion::Conv(float(e))),
                depthwise: float((depthwise_weight, depthwise_bias)),
                project: float((project_weight, project_bias)),
            };
            return reference::block_f32_on::<Flex>(x, params, b);
        }
        let contiguous = |(w, b): (FlexTensor, FlexTensor)| (w.to_contiguous(), b.to_contiguous());
        let x = x.to_contiguous();
        let expand = expand.map(contiguous);
        let depthwise = contiguous((depthwise_weight, depthwise_bias));
        let project = contiguous((project_weight, project_bias));
        let xs = data::<f32>(&x);
        let cout = pc.out_channels;
        fn stage<'a>((w, bias): &'a (FlexTensor, FlexTensor), epilogue: &'a Epilogue) -> Stage<'a> {
            Stage {
                weight: data::<f32>(w),
                bias: data::<f32>(bias),
                epilogue,
            }
        }
        let e = expand
            .as_ref()
            .zip(b.expand.as_ref())
            .map(|(weights, (_, e))| stage(weights, e));
        let d = stage(&depthwise, &b.depthwise.1);
        let p = stage(&project, &b.project.1);
        per_image([n, g.oh, g.ow, cout], DType::F32, |i, out| {
            let xb = image(xs, i, h * w * cin);
            block(g, cin, expanded, cout, xb, e, d, p, b.residual, out);
        })
    }

    fn conv_int8(
        x: FlexTensor,
        params: Int8Params<Self>,
        residual: Int8Residual<Self>,
        conv: Conv,
        requant: Requant,
    ) -> FlexTensor {
        let Int8Params {
            weight,
            bias,
            multiplier,
        } = params;
        let residual = match residual {
            Int8Residual::Add(r) => Some(r),
            Int8Residual::None => None,
        };
        let [n, h, w, cin] = x.layout().shape().dims::<4>();
        let g = conv.window(h, w);
        let cout = conv.out_channels;
        let ok = int8_inputs(&x, &weight, &bias, &multiplier, &conv)
            && residual.as_ref().is_none_or(|r| {
                r.dtype() == DType::U8 && r.layout().shape().dims::<4>() == [n, g.oh, g.ow, cout]
            })
            && residual.is_some() == requant.add.is_some()
            && (conv.groups == 1 || residual.is_none());
        if !ok {
            let params = Int8Params {
                weight,
                bias,
                multiplier,
            };
            let residual = residual.map_or(Int8Residual::None, Int8Residual::Add);
            return reference::conv_int8_on::<Flex>(x, params, residual, conv, requant);
        }
        let (x, weight, bias, multiplier) = (
            x.to_contiguous(),
            weight.to_contiguous(),
            bias.to_contiguous(),
            multiplier.to_contiguous(),
        );
        let residual = residual.map(|r| r.to_contiguous());
        let (xs, bs, ms) = (data::<u8>(&x), data::<i32>(&bias), data::<f32>(&multiplier));
        let rs = residual.as_ref().map(data::<u8>);
        let ws = int8_weights(&weight);
        let out_len = g.oh * g.ow * cout;
        let (sel, mut scratch) = (selected(), Vec::new());
        per_image([n, g.oh, g.ow, cout], DType::U8, |i, out| {
            let target = QOut::Quantized {
                out,
                multiplier: ms,
                requant: &requant,
                residual: rs.map(|r| image(r, i, out_len)),
            };
            let xb = image(xs, i, h * w * cin);
            let zx = requant.input_zero_point;
            let (dot, pairs) = (sel.quads_dot, sel.pairs_dot);
            conv_int8(dot, pairs, &conv, g, xb, ws, bs, zx, target, &mut scratch);
        })
    }

    fn conv_int8_real(
        x: FlexTensor,
        params: Int8Params<Self>,
        conv: Conv,
        input_zero_point: i32,
    ) -> FlexTensor {
        let (weight, bias, scale) = (&params.weight, &params.bias, &params.multiplier);
        if !int8_inputs(&x, weight, bias, scale, &conv) || conv.groups != 1 {
            return reference::conv_int8_real_on::<Flex>(x, params, conv, input_zero_point);
        }
        let Int8Params {
            weight,
            bias,
            multiplier: scale,
        } = params;
        let [n, h, w, cin] = x.layout().shape().dims::<4>();
        let g = conv.window(h, w);
        let (x, weight, bias, scale) = (
            x.to_contiguous(),
            weight.to_contiguous(),
            bias.to_contiguous(),
            scale.to_contiguous(),
        );
        let (xs, bs, ss) = (data::<u8>(&x), data::<i32>(&bias), data::<f32>(&scale));
        let ws = int8_weights(&weight);
        let (sel, mut scratch) = (selected(), Vec::new());
        per_image([n, g.oh, g.ow, conv.out_channels], DType::F32, |i, out| {
            let target = QOut::Real { out, scale: ss };
            let xb = image(xs, i, h * w * cin);
            conv_int8(
                sel.quads_dot,
                sel.pairs_dot,
                &conv,
                g,
                xb,
                ws,
                bs,
                input_zero_point,
                target,
                &mut scratch,
            );
        })
    }
}

/// Whether flex tensors have the dtypes and shapes the int8 kernels take.
fn int8_inputs(
    x: &FlexTensor,
    w: &FlexTensor,
    b: &FlexTensor,
    s: &FlexTensor,
    conv: &Conv,
) -> bool {
    let [n, h, wd, cin] = x.layout().shape().dims::<4>();
    let layout = if w.dtype() == DType::I8 {
        QLayout::Quads
    } else {
        QLayout::Pairs
    };
    let bias_len = if layout == QLayout::Quads { 2 } else { 1 } * conv.out_channels;
    let g = conv.window(h, wd);
    x.dtype() == DType::U8
        && matches!(w.dtype(), DType::I16 | DType::I8)
        && b.dtype() == DType::I32
        && s.dtype() == DType::F32
        && cin == conv.in_channels
        && int8_takes(conv)
        && w.layout().shape().dims::<4>() == qpacked_shape(conv, layout)
        && b.layout().shape().dims::<1>() == [bias_len]
        && s.layout().shape().dims::<1>() == [conv.out_channels]
        && n * h * wd * cin > 0
        && g.oh * g.ow > 0
}

/// Packed int8 weights (their dtype checked) as the kernels read them.
fn int8_weights(w: &FlexTensor) -> QWeightsRef<'_> {
    if w.dtype() == DType::I8 {
        QWeightsRef::Quads(data::<i8>(w))
    } else {
        QWeightsRef::Pairs(data::<i16>(w))
    }
}
