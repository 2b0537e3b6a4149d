"""Whole-photo face pipeline: detect (dlib HOG + 5 landmarks), align to the training crop, restore, paste back.

```python
detector = FaceDetector()
result = restore_faces(photo, upscale_face, upscale_background, detector=detector, face_size=64)
result.image, result.faces, result.num_faces
```
"""

from .alignment import (TEMPLATE_256, TEMPLATE_SIZE, AlignedFace, align_face, apply_affine, estimate_similarity,
                        invert_affine, template_for)
from .detection import DetectedFace, FaceDetector, default_models_dir
from .restore import FaceRestoreResult, face_mask, restore_faces

__all__ = [
    "TEMPLATE_256", "TEMPLATE_SIZE", "AlignedFace", "DetectedFace", "FaceDetector", "FaceRestoreResult",
    "align_face", "apply_affine", "default_models_dir", "estimate_similarity", "face_mask", "invert_affine",
    "restore_faces", "template_for",
]
