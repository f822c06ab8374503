"""Fine-tuning: arguments, model, trainer, distillation, teacher, calibration fits."""
