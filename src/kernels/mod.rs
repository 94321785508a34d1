//! Hand-written convolution kernels, reached through a burn backend extension so the model stays
//! a burn model: [`KernelBackend::conv2d_nhwc`] is a whole convolution (bias, saturation,
//! activation and an optional residual add fused into its epilogue) on NHWC tensors with HWIO
//! weights. burn-flex runs it with SIMD kernels (wasm32 simd128, x86_64 SSE2; see [`simd`]);
//! burn-ndarray, unsupported shapes and [`set_enabled`]`(false)` run [`conv2d_reference`], the
//! same convolution composed of burn's own tensor ops, which the kernels are tested against.
//!
//! Kernels: [`pointwise`] (1×1, a register-tiled matrix product), [`depthwise`] (k×k per
//! channel) and [`direct`] (full k×k, the stem). Every MobileNet convolution is one of them.
//! [`KernelBackend::block_nhwc`] runs a whole inverted-residual block with them in strips
//! ([`block`]), so its expanded activation stays in cache.

pub mod block;
pub mod depthwise;
pub mod direct;
mod epilogue;
pub mod pointwise;
pub mod qdepthwise;
pub mod qdirect;
pub mod qgemm;
pub mod qsimd;
pub mod quantized;
mod requant;
pub mod simd;

use core::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Dispatch, DispatchKindConversion, DispatchTensor, Flex, backend_extension};
use burn::tensor::module::conv2d as burn_conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Bytes, DType, Shape, Tensor};

pub use epilogue::{Epilogue, EpilogueAct};
pub use requant::Requant;

use crate::model::same_padding;
use depthwise::Window;
use pointwise::Pointwise;

/// A convolution: square kernel side, stride, groups (1, or the channel count for a depthwise
/// convolution) and channels. Padding is TensorFlow's "SAME".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv {
    /// Kernel side.
    pub kernel: usize,
    /// Stride on both axes.
    pub stride: usize,
    /// Groups.
    pub groups: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
}

/// Output channels per panel of packed pointwise weights.
pub const PANEL: usize = 8;

impl Conv {
    /// The window over an `h × w` input.
    pub fn window(&self, h: usize, w: usize) -> Window {
        let (k, s) = (self.kernel, self.stride);
        Window {
            h,
            w,
            k,
            stride: s,
            pad_top: same_padding(h, k, s).0,
            pad_left: same_padding(w, k, s).0,
            oh: h.div_ceil(s),
            ow: w.div_ceil(s),
        }
    }

    /// A 1×1, stride-1, one-group convolution: a matrix product.
    pub fn is_pointwise(&self) -> bool {
        self.kernel == 1 && self.stride == 1 && self.groups == 1
    }

    /// Weights in HWIO, `[k, k, in / groups, out]`: the layout the model is given.
    pub fn hwio_shape(&self) -> [usize; 4] {
        let k = self.kernel;
        [k, k, self.in_channels / self.groups, self.out_channels]
    }

    /// Shape of the weights the kernels take: depthwise weights stay HWIO; one-group weights,
    /// a `[k·k·in, out]` matrix in HWIO, are cut into panels of [`PANEL`] output channels,
    /// `[⌈out / 8⌉, 1, k·k·in, 8]` (the last padded with zeros), which the matrix product reads
    /// front to back.
    pub fn packed_shape(&self) -> [usize; 4] {
        if self.groups == 1 {
            let depth = self.kernel * self.kernel * self.in_channels;
            [self.out_channels.div_ceil(PANEL), 1, depth, PANEL]
        } else {
            self.hwio_shape()
        }
    }

    /// HWIO weights → the kernels' layout ([`Conv::packed_shape`]), once, when the model is built.
    pub fn pack(&self, hwio: Vec<f32>) -> Vec<f32> {
        if self.groups != 1 {
            return hwio;
        }
        let n = self.out_channels;
        let [panels, _, depth, _] = self.packed_shape();
        let mut packed = vec![0.0; panels * depth * PANEL];
        for (d, row) in hwio.chunks_exact(n).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                packed[((c / PANEL) * depth + d) * PANEL + c % PANEL] = v;
            }
        }
        packed
    }

    /// The kernels' layout → HWIO, with burn's tensor ops (for the reference path).
    pub fn unpack(&self, packed: Tensor<4>) -> Tensor<4> {
        if self.groups != 1 {
            return packed;
        }
        let n = self.out_channels;
        let [panels, _, depth, _] = self.packed_shape();
        packed
            .reshape([panels, depth, PANEL])
            .permute([1, 0, 2])
            .reshape([depth, panels * PANEL])
            .slice([0..depth, 0..n])
            .reshape(self.hwio_shape())
    }
}

/// The kernels as a burn backend extension: implemented with SIMD kernels for burn-flex and
/// with burn's own ops (the reference) for burn-ndarray.
#[backend_extension(Flex, NdArray: cfg(feature = "ndarray"))]
pub trait KernelBackend: burn::backend::Backend {
    /// `x` `[N, H, W, Cin]`, `weight` `[k, k, Cin / groups, Cout]`, `bias` `[Cout]` →
    /// `epilogue(conv(x) + bias)`, `[N, H', W', Cout]`.
    fn conv2d_nhwc(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        conv: Conv,
        epilogue: Epilogue,
    ) -> FloatTensor<Self>;

    /// [`KernelBackend::conv2d_nhwc`] `+ residual` (`[N, H', W', Cout]`), added in the epilogue.
    fn conv2d_nhwc_add(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        residual: FloatTensor<Self>,
        conv: Conv,
        epilogue: Epilogue,
    ) -> FloatTensor<Self>;

    /// An inverted-residual block with an expansion: 1×1, depthwise, 1×1 (+ `x`), as `block`
    /// describes; weights in the kernels' layout.
    #[allow(clippy::too_many_arguments)]
    fn block_nhwc(
        x: FloatTensor<Self>,
        expand_weight: FloatTensor<Self>,
        expand_bias: FloatTensor<Self>,
        depthwise_weight: FloatTensor<Self>,
        depthwise_bias: FloatTensor<Self>,
        project_weight: FloatTensor<Self>,
        project_bias: FloatTensor<Self>,
        block: Block,
    ) -> FloatTensor<Self>;

    /// A block without expansion (depthwise-separable): depthwise, 1×1 (+ `x`).
    fn separable_nhwc(
        x: FloatTensor<Self>,
        depthwise_weight: FloatTensor<Self>,
        depthwise_bias: FloatTensor<Self>,
        project_weight: FloatTensor<Self>,
        project_bias: FloatTensor<Self>,
        block: Block,
    ) -> FloatTensor<Self>;

    /// 8-bit convolution: `x` `[N, H, W, Cin]` u8 quanta, `weight` i16 packed
    /// ([`quantized::qpack`]), `bias` i32 `[Cout]`, `multiplier` f32 `[Cout]` →
    /// `[N, H', W', Cout]` u8 quanta, requantized as `requant` says.
    fn qconv2d_nhwc(
        x: IntTensor<Self>,
        weight: IntTensor<Self>,
        bias: IntTensor<Self>,
        multiplier: FloatTensor<Self>,
        conv: Conv,
        requant: Requant,
    ) -> IntTensor<Self>;

    /// [`KernelBackend::qconv2d_nhwc`] followed by the residual addition of `residual` (u8
    /// quanta `[N, H', W', Cout]`) that `requant.add` describes.
    fn qconv2d_nhwc_add(
        x: IntTensor<Self>,
        weight: IntTensor<Self>,
        bias: IntTensor<Self>,
        multiplier: FloatTensor<Self>,
        residual: IntTensor<Self>,
        conv: Conv,
        requant: Requant,
    ) -> IntTensor<Self>;

    /// 8-bit convolution with a real-valued output `float(acc) · scale[c]` (the logits).
    fn qconv2d_nhwc_real(
        x: IntTensor<Self>,
        weight: IntTensor<Self>,
        bias: IntTensor<Self>,
        scale: FloatTensor<Self>,
        conv: Conv,
        input_zero_point: i32,
    ) -> FloatTensor<Self>;
}

/// The convolutions of an inverted-residual block without squeeze-excite.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Block {
    /// The 1×1 expansion, if any.
    pub expand: Option<(Conv, Epilogue)>,
    /// The depthwise convolution.
    pub depthwise: (Conv, Epilogue),
    /// The 1×1 projection.
    pub project: (Conv, Epilogue),
    /// Whether the block's input is added to its output.
    pub residual: bool,
}

/// A weight tensor (kernels' layout) and its bias.
pub type Weights = (Tensor<4>, Tensor<1>);

/// Expanded activations from this size on are worth a fused block: below it they stay in cache
/// anyway, and every strip would stream the projection's weights again (MobileNetV1, with no
/// expansion at all, ran 30 % slower fused; V2's late blocks gain nothing).
pub const FUSE_FROM_BYTES: usize = 1 << 20;

/// A block: fused through the backend extension ([`block`]) when it has an expansion whose
/// output reaches [`FUSE_FROM_BYTES`], else its three convolutions one by one ([`conv2d`]);
/// burn's ops when kernels are off.
pub fn block_forward(
    x: Tensor<4>,
    expand: Option<Weights>,
    depthwise: Weights,
    project: Weights,
    b: Block,
) -> Tensor<4> {
    if !enabled() {
        return block_reference(x, expand, depthwise, project, b);
    }
    let [n, h, w, _] = x.dims();
    let expanded = b.depthwise.0.in_channels;
    if b.expand.is_some() && 4 * n * h * w * expanded >= FUSE_FROM_BYTES {
        return block_fused(x, expand, depthwise, project, b);
    }
    let conv = |x, (w, bias): Weights, (c, e): (Conv, Epilogue), r| conv2d(x, w, bias, r, c, e);
    let mut y = x.clone();
    if let (Some(w), Some(c)) = (expand, b.expand) {
        y = conv(y, w, c, None);
    }
    y = conv(y, depthwise, b.depthwise, None);
    conv(y, project, b.project, b.residual.then_some(x))
}

/// The block through the backend extension, whatever [`set_enabled`] says.
pub fn block_fused(
    x: Tensor<4>,
    expand: Option<Weights>,
    depthwise: Weights,
    project: Weights,
    b: Block,
) -> Tensor<4> {
    let d = |(w, bias): Weights| (w.into_dispatch(), bias.into_dispatch());
    let (dw, db) = d(depthwise);
    let (pw, pb) = d(project);
    Tensor::from_dispatch(match (expand, b.expand.is_some()) {
        (Some(e), true) => {
            let (ew, eb) = d(e);
            <Dispatch as KernelBackend>::block_nhwc(x.into_dispatch(), ew, eb, dw, db, pw, pb, b)
        }
        (None, false) => {
            <Dispatch as KernelBackend>::separable_nhwc(x.into_dispatch(), dw, db, pw, pb, b)
        }
        _ => panic!("block: expansion weights and description disagree"),
    })
}

/// The block as three [`conv2d_reference`] calls (weights in the kernels' layout): the reference.
pub fn block_reference(
    x: Tensor<4>,
    expand: Option<Weights>,
    depthwise: Weights,
    project: Weights,
    b: Block,
) -> Tensor<4> {
    let conv = |x: Tensor<4>, (w, bias): Weights, (c, e): (Conv, Epilogue), r| {
        conv2d_reference(x, c.unpack(w), bias, r, c, e)
    };
    let mut y = x.clone();
    if let (Some(w), Some(c)) = (expand, b.expand) {
        y = conv(y, w, c, None);
    }
    y = conv(y, depthwise, b.depthwise, None);
    conv(y, project, b.project, b.residual.then_some(x))
}

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns the kernels off (the plain-burn path) or on, for this process; on by default.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether the kernels are used.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The convolution with weights in the kernels' layout ([`Conv::pack`]): [`conv2d_fused`], or
/// [`conv2d_reference`] on the unpacked weights when kernels are off.
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    residual: Option<Tensor<4>>,
    conv: Conv,
    epilogue: Epilogue,
) -> Tensor<4> {
    if enabled() {
        conv2d_fused(x, weight, bias, residual, conv, epilogue)
    } else {
        conv2d_reference(x, conv.unpack(weight), bias, residual, conv, epilogue)
    }
}

/// The convolution through the backend extension, whatever [`set_enabled`] says; `weight` in
/// the kernels' layout ([`Conv::pack`]).
pub fn conv2d_fused(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    residual: Option<Tensor<4>>,
    conv: Conv,
    epilogue: Epilogue,
) -> Tensor<4> {
    let (x, weight, bias) = (
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
    );
    Tensor::from_dispatch(match residual {
        None => <Dispatch as KernelBackend>::conv2d_nhwc(x, weight, bias, conv, epilogue),
        Some(r) => <Dispatch as KernelBackend>::conv2d_nhwc_add(
            x,
            weight,
            bias,
            r.into_dispatch(),
            conv,
            epilogue,
        ),
    })
}

/// burn's options for `conv` on an `h` × `w` input: its stride and groups, TFLite's SAME padding.
pub(crate) fn conv_options(conv: &Conv, h: usize, w: usize) -> ConvOptions<2> {
    let (k, s) = (conv.kernel, conv.stride);
    ConvOptions {
        stride: [s, s],
        padding: [same_padding(h, k, s), same_padding(w, k, s)],
        dilation: [1, 1],
        groups: conv.groups,
    }
}

/// The same convolution with burn's tensor ops (NCHW `conv2d` between permutes) on HWIO
/// weights: the reference.
pub fn conv2d_reference(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    residual: Option<Tensor<4>>,
    conv: Conv,
    epilogue: Epilogue,
) -> Tensor<4> {
    let [_, h, w, _] = x.dims();
    let options = conv_options(&conv, h, w);
    let y = burn_conv2d(
        x.permute([0, 3, 1, 2]),
        weight.permute([3, 2, 0, 1]),
        Some(bias),
        options,
    );
    let y = epilogue.apply_reference(y).permute([0, 2, 3, 1]);
    match residual {
        Some(r) => y + r,
        None => y,
    }
}

/// `p + offset`, or null when `p` is null (an absent residual).
#[inline(always)]
pub(crate) fn at(p: *const f32, offset: usize) -> *const f32 {
    if p.is_null() {
        p
    } else {
        p.wrapping_add(offset)
    }
}

impl KernelBackend for Flex {
    fn conv2d_nhwc(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        conv: Conv,
        epilogue: Epilogue,
    ) -> FlexTensor {
        flex_conv2d(x, weight, bias, None, conv, epilogue)
    }

    fn conv2d_nhwc_add(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        residual: FlexTensor,
        conv: Conv,
        epilogue: Epilogue,
    ) -> FlexTensor {
        flex_conv2d(x, weight, bias, Some(residual), conv, epilogue)
    }

    fn block_nhwc(
        x: FlexTensor,
        expand_weight: FlexTensor,
        expand_bias: FlexTensor,
        depthwise_weight: FlexTensor,
        depthwise_bias: FlexTensor,
        project_weight: FlexTensor,
        project_bias: FlexTensor,
        block: Block,
    ) -> FlexTensor {
        let expand = Some((expand_weight, expand_bias));
        let dw = (depthwise_weight, depthwise_bias);
        flex_block(x, expand, dw, (project_weight, project_bias), block)
    }

    fn separable_nhwc(
        x: FlexTensor,
        depthwise_weight: FlexTensor,
        depthwise_bias: FlexTensor,
        project_weight: FlexTensor,
        project_bias: FlexTensor,
        block: Block,
    ) -> FlexTensor {
        let dw = (depthwise_weight, depthwise_bias);
        flex_block(x, None, dw, (project_weight, project_bias), block)
    }

    fn qconv2d_nhwc(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        multiplier: FlexTensor,
        conv: Conv,
        requant: Requant,
    ) -> FlexTensor {
        quantized::flex_qconv2d(x, weight, bias, multiplier, None, conv, requant)
    }

    fn qconv2d_nhwc_add(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        multiplier: FlexTensor,
        residual: FlexTensor,
        conv: Conv,
        requant: Requant,
    ) -> FlexTensor {
        quantized::flex_qconv2d(x, weight, bias, multiplier, Some(residual), conv, requant)
    }

    fn qconv2d_nhwc_real(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        scale: FlexTensor,
        conv: Conv,
        input_zero_point: i32,
    ) -> FlexTensor {
        quantized::flex_qconv2d_real(x, weight, bias, scale, conv, input_zero_point)
    }
}

/// A block on flex tensors: [`block::block`] per image, or the reference for shapes it does
/// not take (other dtypes, a depthwise stage that is not depthwise).
fn flex_block(
    x: FlexTensor,
    expand: Option<(FlexTensor, FlexTensor)>,
    depthwise: (FlexTensor, FlexTensor),
    project: (FlexTensor, FlexTensor),
    b: Block,
) -> FlexTensor {
    let [n, h, w, cin] = x.layout().shape().dims::<4>();
    let (dc, _) = b.depthwise;
    let (pc, _) = b.project;
    let expanded = dc.in_channels;
    let tensors = [&x, &depthwise.0, &depthwise.1, &project.0, &project.1];
    let all_f32 = tensors.iter().all(|t| t.dtype() == DType::F32)
        && expand
            .as_ref()
            .is_none_or(|(w, b)| w.dtype() == DType::F32 && b.dtype() == DType::F32);
    let fits = dc.groups == expanded
        && dc.out_channels == expanded
        && pc.is_pointwise()
        && pc.in_channels == expanded
        && b.expand.is_none_or(|(c, _)| {
            c.is_pointwise() && c.in_channels == cin && c.out_channels == expanded
        })
        && (b.expand.is_some() || cin == expanded);
    if !all_f32 || !fits || n * h * w * cin == 0 {
        let prim = |(w, b): (FlexTensor, FlexTensor)| {
            (
                Tensor::from_primitive::<Flex>(w),
                Tensor::<1>::from_primitive::<Flex>(b),
            )
        };
        return block_reference(
            Tensor::from_primitive::<Flex>(x),
            expand.map(prim),
            prim(depthwise),
            prim(project),
            b,
        )
        .try_into_primitive::<Flex>()
        .expect("a flex tensor stays on flex");
    }
    let g = dc.window(h, w);
    let cout = pc.out_channels;
    let x = x.to_contiguous();
    let contiguous = |(w, b): (FlexTensor, FlexTensor)| (w.to_contiguous(), b.to_contiguous());
    let expand = expand.map(contiguous);
    let (depthwise, project) = (contiguous(depthwise), contiguous(project));
    let len = n * g.oh * g.ow * cout;
    let mut out: Vec<f32> = Vec::with_capacity(len);
    let spare: &mut [MaybeUninit<f32>] = &mut out.spare_capacity_mut()[..len];
    let (image_in, image_out) = (h * w * cin, g.oh * g.ow * cout);
    let xs = f32s(&x);
    let epilogues = (b.expand.map(|(_, e)| e), b.depthwise.1, b.project.1);
    for i in 0..n {
        let e = expand
            .as_ref()
            .zip(epilogues.0.as_ref())
            .map(|((w, bias), e)| block::Stage {
                weight: f32s(w),
                bias: f32s(bias),
                epilogue: e,
            });
        let d = block::Stage {
            weight: f32s(&depthwise.0),
            bias: f32s(&depthwise.1),
            epilogue: &epilogues.1,
        };
        let p = block::Stage {
            weight: f32s(&project.0),
            bias: f32s(&project.1),
            epilogue: &epilogues.2,
        };
        let xb = &xs[i * image_in..][..image_in];
        let ob = &mut spare[i * image_out..][..image_out];
        block::block(g, cin, expanded, cout, xb, e, d, p, b.residual, ob);
    }
    // SAFETY: the block wrote every element of each image's output.
    unsafe { out.set_len(len) };
    FlexTensor::new(
        Bytes::from_elems(out),
        Layout::contiguous(Shape::new([n, g.oh, g.ow, cout])),
        DType::F32,
    )
}

/// The contiguous f32 data of a tensor made contiguous.
fn f32s(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("a contiguous f32 tensor")
}

/// The convolution on flex tensors: a kernel for every MobileNet shape, the reference otherwise.
fn flex_conv2d(
    x: FlexTensor,
    weight: FlexTensor,
    bias: FlexTensor,
    residual: Option<FlexTensor>,
    conv: Conv,
    epilogue: Epilogue,
) -> FlexTensor {
    let [n, h, w, cin] = x.layout().shape().dims::<4>();
    let all_f32 = [&x, &weight, &bias].iter().all(|t| t.dtype() == DType::F32)
        && residual.as_ref().is_none_or(|r| r.dtype() == DType::F32);
    let depthwise = conv.groups == cin && conv.out_channels == cin;
    assert_eq!(cin, conv.in_channels, "input channels");
    assert_eq!(
        weight.layout().shape().dims::<4>(),
        conv.packed_shape(),
        "weights in the kernels' layout"
    );
    if !all_f32 || !(depthwise || conv.groups == 1) || n * h * w * cin == 0 {
        return reference_on::<Flex>(x, weight, bias, residual, conv, epilogue);
    }
    let cout = conv.out_channels;
    let g = conv.window(h, w);
    let len = n * g.oh * g.ow * cout;
    let (x, weight, bias) = (
        x.to_contiguous(),
        weight.to_contiguous(),
        bias.to_contiguous(),
    );
    let residual = residual.map(|r| r.to_contiguous());
    let (xs, ws, bs) = (f32s(&x), f32s(&weight), f32s(&bias));
    let rs = residual.as_ref().map(f32s);
    assert!(rs.is_none_or(|r| r.len() == len), "residual shape");
    let mut out: Vec<f32> = Vec::with_capacity(len);
    let spare: &mut [MaybeUninit<f32>] = &mut out.spare_capacity_mut()[..len];
    let (image_in, image_out) = (h * w * cin, g.oh * g.ow * cout);
    for b in 0..n {
        let xb = &xs[b * image_in..][..image_in];
        let ob = &mut spare[b * image_out..][..image_out];
        let rb = rs.map(|r| &r[b * image_out..][..image_out]);
        if conv.is_pointwise() {
            let s = Pointwise {
                p: h * w,
                k: cin,
                n: cout,
            };
            pointwise::pointwise(s, xb, ws, bs, rb, &epilogue, ob);
        } else if depthwise {
            depthwise::depthwise(g, cin, xb, ws, bs, rb, &epilogue, ob);
        } else {
            direct::direct(g, cin, cout, xb, ws, bs, rb, &epilogue, ob);
        }
    }
    // SAFETY: each kernel wrote every element of its image's output, so all `len` are set.
    unsafe { out.set_len(len) };
    FlexTensor::new(
        Bytes::from_elems(out),
        Layout::contiguous(Shape::new([n, g.oh, g.ow, cout])),
        DType::F32,
    )
}

/// [`conv2d_reference`] on one backend's primitives, weights in the kernels' layout.
fn reference_on<B: burn::backend::Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
    residual: Option<FloatTensor<B>>,
    conv: Conv,
    epilogue: Epilogue,
) -> FloatTensor<B>
where
    DispatchTensor: DispatchKindConversion<B>,
{
    conv2d_reference(
        Tensor::from_primitive::<B>(x),
        conv.unpack(Tensor::from_primitive::<B>(weight)),
        Tensor::from_primitive::<B>(bias),
        residual.map(Tensor::from_primitive::<B>),
        conv,
        epilogue,
    )
    .try_into_primitive::<B>()
    .expect("a tensor stays on its backend")
}

#[cfg(feature = "ndarray")]
#[allow(deprecated)]
impl KernelBackend for burn::backend::NdArray {
    fn conv2d_nhwc(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        conv: Conv,
        epilogue: Epilogue,
    ) -> FloatTensor<Self> {
        reference_on::<Self>(x, weight, bias, None, conv, epilogue)
    }

    fn conv2d_nhwc_add(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        residual: FloatTensor<Self>,
        conv: Conv,
        epilogue: Epilogue,
    ) -> FloatTensor<Self> {
        reference_on::<Self>(x, weight, bias, Some(residual), conv, epilogue)
    }

    fn block_nhwc(
        x: FloatTensor<Self>,
        expand_weight: FloatTensor<Self>,
        expand_bias: FloatTensor<Self>,
        depthwise_weight: FloatTensor<Self>,
        depthwise_bias: FloatTensor<Self>,
        project_weight: FloatTensor<Self>,
        project_bias: FloatTensor<Self>,
        block: Block,
    ) -> FloatTensor<Self> {
        let t = Tensor::<4>::from_primitive::<Self>;
        let b = Tensor::<1>::from_primitive::<Self>;
        block_reference(
            t(x),
            Some((t(expand_weight), b(expand_bias))),
            (t(depthwise_weight), b(depthwise_bias)),
            (t(project_weight), b(project_bias)),
            block,
        )
        .try_into_primitive::<Self>()
        .expect("an ndarray tensor stays on ndarray")
    }

    fn separable_nhwc(
        x: FloatTensor<Self>,
        depthwise_weight: FloatTensor<Self>,
        depthwise_bias: FloatTensor<Self>,
        project_weight: FloatTensor<Self>,
        project_bias: FloatTensor<Self>,
        block: Block,
    ) -> FloatTensor<Self> {
        let t = Tensor::<4>::from_primitive::<Self>;
        let b = Tensor::<1>::from_primitive::<Self>;
        block_reference(
            t(x),
            None,
            (t(depthwise_weight), b(depthwise_bias)),
            (t(project_weight), b(project_bias)),
            block,
        )
        .try_into_primitive::<Self>()
        .expect("an ndarray tensor stays on ndarray")
    }

    fn qconv2d_nhwc(
        x: IntTensor<Self>,
        weight: IntTensor<Self>,
        bias: IntTensor<Self>,
        multiplier: FloatTensor<Self>,
        conv: Conv,
        requant: Requant,
    ) -> IntTensor<Self> {
        quantized::qreference_on::<Self>(x, weight, bias, multiplier, None, conv, requant)
    }

    fn qconv2d_nhwc_add(
        x: IntTensor<Self>,
        weight: IntTensor<Self>,
        bias: IntTensor<Self>,
        multiplier: FloatTensor<Self>,
        residual: IntTensor<Self>,
        conv: Conv,
        requant: Requant,
    ) -> IntTensor<Self> {
        quantized::qreference_on::<Self>(x, weight, bias, multiplier, Some(residual), conv, requant)
    }

    fn qconv2d_nhwc_real(
        x: IntTensor<Self>,
        weight: IntTensor<Self>,
        bias: IntTensor<Self>,
        scale: FloatTensor<Self>,
        conv: Conv,
        input_zero_point: i32,
    ) -> FloatTensor<Self> {
        quantized::qreference_real_on::<Self>(x, weight, bias, scale, conv, input_zero_point)
    }
}
