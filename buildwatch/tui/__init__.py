"""The Textual user interface: screens and widgets over the headless core's models and stores."""
