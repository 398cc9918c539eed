"""The MkDocs (and ProperDocs) adapter: the plugin's hooks, handing off to render/."""
