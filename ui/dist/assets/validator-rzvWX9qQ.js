import{an as i}from"./index-CYpBMhOn.js";const e=o=>["",...i].includes(o);export{e as i};
