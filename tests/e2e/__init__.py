"""Browser end-to-end tests: JupyterLab and Voila driven by headless Chromium."""
