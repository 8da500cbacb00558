"""Controls and parts shared by several views: the sidebar, presets, share link, the live chart."""
