//! A convolution's geometry: kernel, stride, groups, channels and padding, and the window it
//! slides over one image.

/// How a convolution pads its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Padding {
    /// TensorFlow's "SAME": `⌈input / stride⌉` outputs, the odd pixel of padding at the end.
    Same,
    /// Fixed padding on each side (`VALID` is all zeros; a PAD operator before a VALID
    /// convolution gives the rest).
    Explicit {
        /// Rows before the first.
        top: usize,
        /// Columns before the first.
        left: usize,
        /// Rows after the last.
        bottom: usize,
        /// Columns after the last.
        right: usize,
    },
}

impl Padding {
    /// No padding.
    pub(crate) const VALID: Self = Padding::Explicit {
        top: 0,
        left: 0,
        bottom: 0,
        right: 0,
    };
}

/// TensorFlow "SAME" padding `(before, after)` for one spatial axis.
fn same_padding(input: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let output = input.div_ceil(stride.max(1));
    let total = ((output.max(1) - 1) * stride + kernel).saturating_sub(input);
    (total / 2, total - total / 2)
}

/// A convolution: square kernel, stride, groups (1, or the channel count for a depthwise
/// convolution), channels and padding. The one description of a convolution the reader, the
/// model and the kernels share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Conv {
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
    /// Padding.
    pub padding: Padding,
}

impl Conv {
    /// A one-group `kernel`×`kernel` convolution with "SAME" padding.
    pub(crate) fn full(cin: usize, cout: usize, kernel: usize, stride: usize) -> Self {
        Self {
            kernel,
            stride,
            groups: 1,
            in_channels: cin,
            out_channels: cout,
            padding: Padding::Same,
        }
    }

    /// A 1×1 convolution (also a fully connected layer on a 1×1 map).
    #[cfg(test)]
    pub(crate) fn pointwise(cin: usize, cout: usize) -> Self {
        Self::full(cin, cout, 1, 1)
    }

    /// A depthwise convolution over `channels` with "SAME" padding.
    pub(crate) fn depthwise(channels: usize, kernel: usize, stride: usize) -> Self {
        Self {
            groups: channels,
            ..Self::full(channels, channels, kernel, stride)
        }
    }

    /// A 1×1, stride-1, one-group convolution: a matrix product.
    pub(crate) fn is_pointwise(&self) -> bool {
        self.kernel == 1 && self.stride == 1 && self.groups == 1 && self.pads(1, 1) == [(0, 0); 2]
    }

    /// One group per channel.
    pub(crate) fn is_depthwise(&self) -> bool {
        self.groups > 1 && self.groups == self.in_channels && self.out_channels == self.in_channels
    }

    /// Weights in HWIO, `[k, k, in / groups, out]`.
    pub(crate) fn hwio_shape(&self) -> [usize; 4] {
        let k = self.kernel;
        [
            k,
            k,
            self.in_channels / self.groups.max(1),
            self.out_channels,
        ]
    }

    /// Weights and biases.
    pub(crate) fn parameters(&self) -> usize {
        self.hwio_shape().iter().product::<usize>() + self.out_channels
    }

    /// `[(before, after)]` padding of the rows and columns of an `h × w` input.
    pub(crate) fn pads(&self, h: usize, w: usize) -> [(usize, usize); 2] {
        match self.padding {
            Padding::Same => [
                same_padding(h, self.kernel, self.stride),
                same_padding(w, self.kernel, self.stride),
            ],
            Padding::Explicit {
                top,
                left,
                bottom,
                right,
            } => [(top, bottom), (left, right)],
        }
    }

    /// Output size over an `h × w` input, `None` when the window does not fit once.
    pub(crate) fn output(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        let [(t, b), (l, r)] = self.pads(h, w);
        let (k, s) = (self.kernel, self.stride.max(1));
        let fit = |n: usize| n.checked_sub(k).map(|n| n / s + 1);
        Some((fit(h + t + b)?, fit(w + l + r)?))
    }

    /// The window over an `h × w` input. `h`, `w` and the kernel must make at least one output.
    pub(crate) fn window(&self, h: usize, w: usize) -> Window {
        let [(pad_top, _), (pad_left, _)] = self.pads(h, w);
        let (oh, ow) = self.output(h, w).unwrap_or((0, 0));
        Window {
            h,
            w,
            k: self.kernel,
            stride: self.stride,
            pad_top,
            pad_left,
            oh,
            ow,
        }
    }
}

/// Geometry of a windowed convolution over one image: the padding after the last row and
/// column is implied by the output size (taps past the image read as padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Kernel side.
    pub k: usize,
    /// Stride.
    pub stride: usize,
    /// Padding before the first row.
    pub pad_top: usize,
    /// Padding before the first column.
    pub pad_left: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
}

impl Window {
    /// For output position `o` on an axis padded by `pad` of an input of `len`: the first
    /// input position its window covers and the taps `first..end` that fall inside the input.
    #[inline(always)]
    pub(crate) fn taps(&self, o: usize, pad: usize, len: usize) -> (isize, usize, usize) {
        let i0 = (o * self.stride) as isize - pad as isize;
        let first = (-i0).max(0) as usize;
        let end = (len as isize - i0).clamp(0, self.k as isize) as usize;
        (i0, first.min(end), end)
    }
}
