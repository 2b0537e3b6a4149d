"""Whole-photo face pipeline: detect (dlib HOG + 5 landmarks), align to the training crop, restore, paste back
(feathered mask, colour matched; monochrome photos keep their own colour) at any output scale.

```python
detector = FaceDetector()
result = restore_faces(photo, upscale_face, upscale_background, detector=detector, face_size=64)
result.image, result.faces, result.num_faces
```
"""

from .alignment import (TEMPLATE_256, TEMPLATE_SIZE, AlignedFace, align_face, apply_affine, estimate_similarity,
                        invert_affine, template_for)
from .colour import chroma_spread, is_monochrome, with_chroma_of
from .detection import DetectedFace, FaceDetector, default_models_dir
from .paste import PasteWindow, canvas_to_crop, face_mask, match_colour, paste_face, warp_face
from .restore import FaceRestoreResult, restore_faces

__all__ = [
    "TEMPLATE_256", "TEMPLATE_SIZE", "AlignedFace", "DetectedFace", "FaceDetector", "FaceRestoreResult",
    "PasteWindow", "align_face", "apply_affine", "canvas_to_crop", "chroma_spread", "default_models_dir",
    "estimate_similarity", "face_mask", "invert_affine", "is_monochrome", "match_colour", "paste_face",
    "restore_faces", "template_for", "warp_face", "with_chroma_of",
]
