"""Step 1: register a moving phase to the reference phase (Mattes mutual information)."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk


@dataclass(frozen=True)
class Registration:
    """Rigid (optionally then affine) registration with Mattes mutual information.

    Parameters
    ----------
    method : ``"rigid"``, ``"affine"`` or ``"none"``.
    bins : histogram bins of the Mattes metric.
    sampling : fraction of fixed-image voxels sampled (random, seeded).
    iterations : optimiser iterations per resolution level.
    seed : seed of the random sampling.

    ``apply(fixed, moving)`` returns ``(transform, record)``: the transform maps
    points of the fixed (reference) space to the moving image (ITK convention,
    what :func:`SimpleITK.Resample` needs), and the record holds the method and
    the metric before (identity after centring by geometry is not applied) and
    after registration. Mattes MI is negative; lower is better.
    """

    method: str = "rigid"
    bins: int = 50
    sampling: float = 0.1
    iterations: int = 200
    seed: int = 20250101

    #: Upper bound on metric samples per evaluation at each resolution level (keeps large volumes
    #: affordable; the fraction ``sampling`` applies below it).
    max_samples: int = 20_000

    def _percentage(self, n_vox: float) -> float:
        return min(float(self.sampling), max(1e-4, self.max_samples / max(n_vox, 1.0)))

    def _method(self, fixed: sitk.Image, shrink: list[int] | None = None) -> sitk.ImageRegistrationMethod:
        reg = sitk.ImageRegistrationMethod()
        reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=self.bins)
        reg.SetMetricSamplingStrategy(reg.RANDOM)
        if shrink is None:
            reg.SetMetricSamplingPercentage(self._percentage(float(np.prod(fixed.GetSize()))), int(self.seed))
        else:  # about the same number of samples at every level (the percentage is of that level's voxels)
            pct = [self._percentage(float(np.prod([max(1, n // s) for n in fixed.GetSize()]))) for s in shrink]
            reg.SetMetricSamplingPercentagePerLevel(pct, int(self.seed))
        reg.SetInterpolator(sitk.sitkLinear)
        return reg

    def metric(self, fixed: sitk.Image, moving: sitk.Image, transform: sitk.Transform) -> float:
        """Mattes MI of ``moving`` seen through ``transform`` on ``fixed``'s voxels."""
        reg = self._method(fixed)
        reg.SetInitialTransform(transform, inPlace=False)
        return float(reg.MetricEvaluate(_f32(fixed), _f32(moving)))

    def _levels(self, image: sitk.Image) -> tuple[list[int], list[float]]:
        # coarse-to-fine; large images (> 2 million voxels) use shrink 4 and 2 only: every level costs
        # about a second of fixed set-up on a full-size MRI, and 2x-shrunk accuracy (~0.2 mm on the
        # benchmark patient) is well under the 1 mm output grid
        big = float(np.prod(image.GetSize())) > 2e6
        shrink = [s for s in ((4, 2) if big else (4, 2, 1)) if min(image.GetSize()) // s >= 4] or [1]
        sigmas = [max(0.0, float(np.log2(s))) for s in shrink]
        return shrink, sigmas

    def _run(self, fixed, moving, initial: sitk.Transform, levels) -> sitk.Transform:
        shrink, sigmas = levels
        reg = self._method(fixed, list(shrink))
        # the step is re-estimated every iteration so that no point moves more than 1.5 fixed-image
        # voxel sizes per step (ITK's physical-shift estimator): converges in tens of iterations where a fixed
        # learning rate crawled to the iteration limit
        max_step = 1.5 * float(min(fixed.GetSpacing()))
        reg.SetOptimizerAsRegularStepGradientDescent(learningRate=1.0, minStep=1e-4,
                                                     numberOfIterations=self.iterations,
                                                     relaxationFactor=0.5, gradientMagnitudeTolerance=1e-6,
                                                     estimateLearningRate=reg.EachIteration,
                                                     maximumStepSizeInPhysicalUnits=max_step)
        reg.SetOptimizerScalesFromPhysicalShift()
        reg.SetShrinkFactorsPerLevel(shrink)
        reg.SetSmoothingSigmasPerLevel(sigmas)
        reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
        reg.SetInitialTransform(initial, inPlace=False)
        out = reg.Execute(fixed, moving)
        if isinstance(out, sitk.CompositeTransform) and out.GetNumberOfTransforms() == 1:
            out = out.GetNthTransform(0)
        return out

    def apply(self, fixed: sitk.Image, moving: sitk.Image) -> tuple[sitk.Transform, dict]:
        """Register ``moving`` to ``fixed`` (see the class docs), single-threaded.

        ITK 5 splits the metric's work among threads dynamically, so with several threads the
        metric's sums run in a varying order and reruns differ in the last bits, then in the
        optimiser's path and in the output voxels. ITK runs this step with one thread (the
        global default is restored afterwards), so the same input gives the same transform on
        every run (inside a worker process of a pool it is one thread anyway).
        """
        with _itk_threads(1):
            return self._apply(fixed, moving)

    def _apply(self, fixed: sitk.Image, moving: sitk.Image) -> tuple[sitk.Transform, dict]:
        identity = sitk.Euler3DTransform()
        record = {"method": self.method, "metric": "MattesMutualInformation", "bins": self.bins,
                  "sampling": self.sampling, "iterations": self.iterations, "seed": self.seed}
        if self.method == "none":
            record.update(metric_before=self.metric(fixed, moving, identity), metric_after=None, parameters=[])
            return identity, record
        fixed_f, moving_f = _f32(fixed), _f32(moving)
        # the before/after metric (QC, and the never-worse-than-identity check) on a 2x-shrunk pair
        # for large images: the metric's set-up (moving-image gradient) costs ~0.7 s per call at full
        # size on a paper-size MRI, ~0.1 s shrunk; both values use the same images, so they compare
        big = float(np.prod(fixed_f.GetSize())) > 2e6
        fixed_m, moving_m = ((sitk.Shrink(fixed_f, [2, 2, 2]), sitk.Shrink(moving_f, [2, 2, 2])) if big
                             else (fixed_f, moving_f))
        record["metric_shrink"] = 2 if big else 1
        before = self.metric(fixed_m, moving_m, identity)
        init = sitk.CenteredTransformInitializer(fixed_f, moving_f, sitk.Euler3DTransform(),
                                                 sitk.CenteredTransformInitializerFilter.GEOMETRY)
        levels = self._levels(fixed_f)
        tx = sitk.Euler3DTransform(self._run(fixed_f, moving_f, init, levels))
        if self.method == "affine":
            aff = sitk.AffineTransform(3)
            aff.SetMatrix(tx.GetMatrix())
            aff.SetTranslation(tx.GetTranslation())
            aff.SetCenter(tx.GetCenter())
            tx = sitk.AffineTransform(self._run(fixed_f, moving_f, aff, (levels[0][-2:], levels[1][-2:])))
        after = self.metric(fixed_m, moving_m, tx)
        if after > before:  # never return something worse than doing nothing
            tx, after = identity, before
            record["note"] = "optimiser ended worse than identity; identity kept"
        record.update(metric_before=before, metric_after=after, parameters=list(tx.GetParameters()),
                      fixed_parameters=list(tx.GetFixedParameters()), transform=tx.GetName())
        return tx, record


_THREADS_LOCK = threading.Lock()


@contextlib.contextmanager
def _itk_threads(n: int):
    """ITK's global default thread count set to ``n`` for the block (then restored)."""
    with _THREADS_LOCK:
        old = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(n)
        try:
            yield
        finally:
            sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(old)


def _f32(image: sitk.Image) -> sitk.Image:
    return image if image.GetPixelID() == sitk.sitkFloat32 else sitk.Cast(image, sitk.sitkFloat32)
