"""EC2: instances whose state moto keeps and whose compute local AWS runs (`machines`, `instances_api`)."""
